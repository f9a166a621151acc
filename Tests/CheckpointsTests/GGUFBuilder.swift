// A minimal GGUF writer for tests (ggml/docs/gguf.md): any version number, any magic, raw
// type ids and offsets, so malformed files can be made as easily as good ones.
import Foundation
@testable import Checkpoints

struct GGUFBuilder {
    struct RawTensor {
        var name: String
        var typeID: UInt32
        var ne: [Int]
        var data: [UInt8]
        /// Overrides the computed data-section offset.
        var offset: UInt64? = nil
    }

    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var kvs: [(String, GGUFValue)] = []
    var tensors: [RawTensor] = []
    /// The alignment tensor data is laid out with (write `general.alignment` yourself).
    var alignment = 32

    private static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func put(_ s: String, _ out: inout [UInt8]) {
        put(UInt64(s.utf8.count), &out)
        out.append(contentsOf: s.utf8)
    }

    static func payload(_ v: GGUFValue, _ out: inout [UInt8]) {
        switch v {
        case .uint8(let x): put(x, &out)
        case .int8(let x): put(x, &out)
        case .uint16(let x): put(x, &out)
        case .int16(let x): put(x, &out)
        case .uint32(let x): put(x, &out)
        case .int32(let x): put(x, &out)
        case .uint64(let x): put(x, &out)
        case .int64(let x): put(x, &out)
        case .float32(let x): put(x.bitPattern, &out)
        case .float64(let x): put(x.bitPattern, &out)
        case .bool(let b): out.append(b ? 1 : 0)
        case .string(let s): put(s, &out)
        case .array(let t, let a):
            put(t.rawValue, &out)
            put(UInt64(a.count), &out)
            for e in a { payload(e, &out) }
        }
    }

    func build() -> [UInt8] {
        var out = magic
        GGUFBuilder.put(version, &out)
        GGUFBuilder.put(UInt64(tensors.count), &out)
        GGUFBuilder.put(UInt64(kvs.count), &out)
        for (k, v) in kvs {
            GGUFBuilder.put(k, &out)
            GGUFBuilder.put(v.type.rawValue, &out)
            GGUFBuilder.payload(v, &out)
        }
        var offsets: [UInt64] = []
        var next: UInt64 = 0
        for t in tensors {
            offsets.append(t.offset ?? next)
            next += UInt64((t.data.count + alignment - 1) / alignment * alignment)
        }
        for (t, off) in zip(tensors, offsets) {
            GGUFBuilder.put(t.name, &out)
            GGUFBuilder.put(UInt32(t.ne.count), &out)
            for d in t.ne { GGUFBuilder.put(UInt64(d), &out) }
            GGUFBuilder.put(t.typeID, &out)
            GGUFBuilder.put(off, &out)
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    func write(to url: URL) throws { try Data(build()).write(to: url) }
}

func f32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } } }
