// The safetensors format (huggingface/safetensors, "Format" section of its README): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, and
// an optional "__metadata__" string map}, then the data buffer the offsets point into.
// Reading maps the file and validates every entry before any tensor is converted.
import Foundation
import Tensors

/// The element types of the safetensors format.
public enum StorageDType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: 1
        }
    }

    /// The dtypes this reader converts to an fp32 `Tensor`.
    public var isReadableAsFloat: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }
    /// The dtypes `Safetensors.write` can store.
    public var isWritable: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// The name config.json's `dtype` field uses for it.
    public var configName: String {
        switch self {
        case .f64: "float64"
        case .f32: "float32"
        case .f16: "float16"
        case .bf16: "bfloat16"
        default: rawValue.lowercased()
        }
    }
}

/// Something tensors can be read from by name: one safetensors file or a sharded folder.
public protocol TensorSource {
    /// Every tensor name, in storage order.
    var names: [String] { get }
    func info(_ name: String) -> (dtype: StorageDType, shape: [Int])?
    func tensor(_ name: String) throws -> Tensor
}

public struct SafetensorsFile: TensorSource, @unchecked Sendable {
    struct Entry {
        let dtype: StorageDType
        let shape: [Int]
        /// Byte range within the data buffer.
        let begin: Int
        let end: Int
    }

    public let url: URL
    /// Tensor names in data-offset order (the order the writer laid them out).
    public let names: [String]
    public let metadata: [String: String]
    /// Offset of the data buffer in the file: 8 + header length.
    public let dataOffset: Int
    let entries: [String: Entry]
    let file: MappedFile

    public init(_ url: URL) throws {
        self.url = url
        file = try MappedFile(url)
        let bytes = file.bytes
        func fail(_ field: String?, _ m: String) -> CheckpointError { CheckpointError(url, field: field, m) }
        guard bytes.count >= 8 else {
            throw fail(nil, "file too short (\(bytes.count) bytes) for a safetensors header length")
        }
        let headerLength = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail(nil, "header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        dataOffset = 8 + Int(headerLength)
        let dataSize = bytes.count - dataOffset
        let json: JSONValue
        do {
            json = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataOffset]), rejectDuplicateKeys: true)
        } catch {
            throw fail(nil, "header is not valid JSON: \(error)")
        }
        guard case .object(let header) = json else { throw fail(nil, "header is not a JSON object") }

        var meta: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard case .object(let o) = m else { throw fail("__metadata__", "expected an object of strings") }
            for (k, v) in o {
                guard case .string(let s) = v else { throw fail("__metadata__", "value of `\(k)` is not a string: \(v)") }
                meta[k] = s
            }
        }
        metadata = meta

        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard case .object(let o) = value else { throw fail(name, "expected an object with dtype, shape, data_offsets") }
            guard case .string(let ds)? = o["dtype"] else { throw fail(name, "missing dtype") }
            guard let dtype = StorageDType(rawValue: ds) else {
                throw fail(name, "unknown dtype \(ds) (known: \(StorageDType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard case .array(let sa)? = o["shape"] else { throw fail(name, "missing shape") }
            var shape: [Int] = []
            var n = 1
            for d in sa {
                guard let v = d.intValue, v >= 0 else { throw fail(name, "shape \(JSONValue.array(sa)) has an entry that is not a non-negative integer") }
                shape.append(v)
                let (p, overflow) = n.multipliedReportingOverflow(by: v)
                guard !overflow else { throw fail(name, "shape \(shape) overflows") }
                n = p
            }
            guard case .array(let oa)? = o["data_offsets"], oa.count == 2,
                  let begin = oa[0].intValue, let end = oa[1].intValue else {
                throw fail(name, "data_offsets must be two integers")
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail(name, "data_offsets [\(begin), \(end)] out of range of the \(dataSize)-byte data buffer")
            }
            let (bytesNeeded, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, bytesNeeded == end - begin else {
                throw fail(name, "shape \(shape) × \(ds) is \(overflow ? "too many" : String(bytesNeeded)) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        let ordered = entries.sorted { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }
        for k in ordered.indices.dropFirst() {
            let (prevName, prev) = ordered[k - 1], (name, e) = ordered[k]
            if e.begin < prev.end && e.end > e.begin {
                throw fail(name, "data_offsets [\(e.begin), \(e.end)] overlap tensor `\(prevName)` [\(prev.begin), \(prev.end)]")
            }
        }
        self.entries = entries
        names = ordered.map(\.key)
    }

    public func info(_ name: String) -> (dtype: StorageDType, shape: [Int])? {
        entries[name].map { ($0.dtype, $0.shape) }
    }

    private func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw CheckpointError(url, field: name, "no such tensor") }
        return e
    }

    /// The stored bytes of a tensor, valid while this file (its mapping) is alive.
    func storage(_ e: Entry) -> UnsafeRawPointer {
        file.bytes.baseAddress!.advanced(by: dataOffset + e.begin)
    }

    /// A floating-point tensor converted to fp32 (F16 and BF16 exactly, F64 rounded).
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        guard e.dtype.isReadableAsFloat else {
            throw CheckpointError(url, field: name, "dtype \(e.dtype.rawValue) is not a float type; read it with int64s or bytes")
        }
        let n = (e.end - e.begin) / e.dtype.byteSize
        if n == 0 { return Tensor(shape: e.shape, data: []) }
        let src = storage(e)
        let data = [Float](unsafeUninitializedCapacity: n) { buf, count in
            Convert.toF32(e.dtype, src, n, buf.baseAddress!)
            count = n
        }
        // Converted pages need not stay resident: keeps a load near 1× the fp32 size.
        if e.end - e.begin >= 1 << 20 { file.releasePages(offset: dataOffset + e.begin, length: e.end - e.begin) }
        return Tensor(shape: e.shape, data: data)
    }

    /// An integer (or BOOL) tensor widened to Int64, flattened row-major.
    public func int64s(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        let n = (e.end - e.begin) / e.dtype.byteSize
        let p = storage(e)
        func read<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
            (0..<n).map { Int64(T(littleEndian: p.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self))) }
        }
        switch e.dtype {
        case .i64: return read(Int64.self)
        case .i32: return read(Int32.self)
        case .i16: return read(Int16.self)
        case .i8: return read(Int8.self)
        case .u32: return read(UInt32.self)
        case .u16: return read(UInt16.self)
        case .u8, .bool: return read(UInt8.self)
        case .u64:
            return try (0..<n).map { i -> Int64 in
                let v = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
                guard let s = Int64(exactly: v) else {
                    throw CheckpointError(url, field: name, "U64 value \(v) at index \(i) does not fit Int64")
                }
                return s
            }
        default:
            throw CheckpointError(url, field: name, "dtype \(e.dtype.rawValue) is not an integer type; read it with tensor")
        }
    }

    /// The raw stored bytes of a tensor of any dtype (U8 tensors hold e.g. raw GGUF blocks).
    public func bytes(_ name: String) throws -> [UInt8] {
        let e = try entry(name)
        return [UInt8](UnsafeRawBufferPointer(start: storage(e), count: e.end - e.begin))
    }

    /// Every float tensor, converted.
    public func tensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for n in names where entries[n]!.dtype.isReadableAsFloat { out[n] = try tensor(n) }
        return out
    }
}

public enum Safetensors {
    /// Writes `tensors` in the given order as `dtype` (F32, F16 or BF16, rounded to nearest
    /// even), with `metadata` as `__metadata__`. The header is padded with spaces to a
    /// multiple of 8 bytes so the data buffer is aligned, as the reference writer does.
    /// The file appears complete or not at all (temporary sibling + rename).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to url: URL,
                             dtype: StorageDType = .f32, metadata: [String: String] = [:]) throws {
        guard dtype.isWritable else {
            throw CheckpointError(url, "cannot write dtype \(dtype.rawValue) (F32, F16, BF16 only)")
        }
        var seen = Set<String>()
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            for (k, key) in metadata.keys.sorted().enumerated() {
                if k > 0 { header += "," }
                JSONValue.quote(key, into: &header)
                header += ":"
                JSONValue.quote(metadata[key]!, into: &header)
            }
            header += "}"
        }
        var offset = 0
        for (k, t) in tensors.enumerated() {
            guard t.name != "__metadata__", seen.insert(t.name).inserted else {
                throw CheckpointError(url, field: t.name, "tensor name given twice (or reserved)")
            }
            let size = t.tensor.count * dtype.byteSize
            if k > 0 || !metadata.isEmpty { header += "," }
            JSONValue.quote(t.name, into: &header)
            header += ":{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(t.tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        try AtomicFile.write(url) { h in
            var prefix = Data(count: 8)
            prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(headerBytes.count).littleEndian, as: UInt64.self) }
            prefix.append(contentsOf: headerBytes)
            try h.write(contentsOf: prefix)
            for t in tensors {
                try writeData(t.tensor.data, dtype: dtype, to: h)
            }
        }
    }

    /// Streams one tensor's values, converted, in bounded chunks (no second full copy).
    static func writeData(_ data: [Float], dtype: StorageDType, to h: FileHandle) throws {
        if data.isEmpty { return }
        if dtype == .f32 {
            // Little-endian hosts only (x86-64, arm64): fp32 values are written as they lie.
            try data.withUnsafeBytes { raw in
                try h.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: raw.baseAddress!),
                                             count: raw.count, deallocator: .none))
            }
            return
        }
        let chunk = 1 << 20
        var buf = [UInt16](repeating: 0, count: min(chunk, data.count))
        var start = 0
        while start < data.count {
            let n = min(chunk, data.count - start)
            data.withUnsafeBufferPointer { src in
                buf.withUnsafeMutableBufferPointer { dst in
                    if dtype == .f16 {
                        for i in 0..<n { dst[i] = f32ToF16(src[start + i]).littleEndian }
                    } else {
                        for i in 0..<n { dst[i] = f32ToBF16(src[start + i]).littleEndian }
                    }
                }
            }
            try buf.withUnsafeBytes { try h.write(contentsOf: Data($0.prefix(n * 2))) }
            start += n
        }
    }
}
