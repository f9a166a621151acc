// GGUF, llama.cpp's model file (ggml/docs/gguf.md), versions 2 and 3, little-endian:
// magic "GGUF", u32 version, u64 tensor count, u64 key/value count, the key/values, the
// tensor infos (name, dims, ggml type, offset), then the data section, aligned to
// `general.alignment` (default 32). Tensors are read from a memory map and dequantised.
import Foundation
import Tensors

/// gguf_type: the type tag of a metadata value.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes the smallest value of this type occupies (bounds a claimed array length).
    var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    /// Element type and elements; arrays may nest (element type `.array`).
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8; case .int8: .int8; case .uint16: .uint16; case .int16: .int16
        case .uint32: .uint32; case .int32: .int32; case .uint64: .uint64; case .int64: .int64
        case .float32: .float32; case .float64: .float64; case .bool: .bool; case .string: .string
        case .array: .array
        }
    }

    /// Any integer type, if it fits Int.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v); case .int8(let v): Int(v); case .uint16(let v): Int(v)
        case .int16(let v): Int(v); case .uint32(let v): Int(v); case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v); case .int64(let v): Int(exactly: v)
        default: nil
        }
    }

    /// Any numeric type.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: intValue.map(Double.init)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var arrayValue: [GGUFValue]? { if case .array(_, let a) = self { a } else { nil } }
}

public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// ggml order: ne[0] is the contiguous dimension (a linear layer's input dimension).
    public let ne: [Int]
    /// Offset from the start of the data section.
    public let offset: Int
    public let byteCount: Int

    /// Row-major shape (numpy's, = HF's [out, in] for linear weights): ne reversed.
    public var shape: [Int] { ne.reversed() }
    public var elementCount: Int { ne.reduce(1, *) }
    public var rowLength: Int { ne.first ?? 1 }
    public var rowCount: Int { ne.dropFirst().reduce(1, *) }
}

public struct GGUFFile: @unchecked Sendable {
    public let url: URL
    public let version: Int
    /// Metadata keys in file order.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensorInfos: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute file offset of the data section.
    public let dataOffset: Int
    let index: [String: Int]
    let file: MappedFile

    public static let defaultAlignment = 32
    /// GGML_MAX_DIMS
    static let maxDims = 4

    public init(_ url: URL) throws {
        self.url = url
        file = try MappedFile(url)
        var r = Reader(bytes: file.bytes, url: url)
        guard file.count >= 4, r.peekMagic() else {
            throw CheckpointError(url, "not a GGUF file (bad magic; expected \"GGUF\")")
        }
        r.pos = 4
        let v = try r.u32()
        guard v == 2 || v == 3 else {
            if v.byteSwapped == 2 || v.byteSwapped == 3 {
                throw CheckpointError(url, "big-endian GGUF (version \(v.byteSwapped)) is not supported")
            }
            throw CheckpointError(url, "unsupported GGUF version \(v) (supported: 2, 3)")
        }
        version = Int(v)
        // Not checked against the bytes left: a truncated file should fail at the key or
        // tensor where it ends, which names it.
        let tensorCount64 = try r.u64(), kvCount64 = try r.u64()
        guard tensorCount64 <= UInt64(Int32.max), kvCount64 <= UInt64(Int32.max) else {
            throw CheckpointError(url, "implausible counts: \(tensorCount64) tensors, \(kvCount64) key/values")
        }
        let tensorCount = Int(tensorCount64), kvCount = Int(kvCount64)

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        keys.reserveCapacity(min(kvCount, file.count / 12))
        for k in 0..<kvCount {
            r.context = "key/value \(k)"
            let key = try r.string()
            r.context = key
            guard metadata[key] == nil else { throw CheckpointError(url, field: key, "duplicate metadata key") }
            let t = try r.valueType()
            metadata[key] = try r.value(t, depth: 0)
            keys.append(key)
        }
        self.keys = keys
        self.metadata = metadata

        var alignment = GGUFFile.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard case .uint32(let av) = a, av > 0, av & (av - 1) == 0 else {
                throw CheckpointError(url, field: "general.alignment", "must be a uint32 power of two, got \(a)")
            }
            alignment = Int(av)
        }
        self.alignment = alignment

        struct Raw { let name: String; let ne: [Int]; let typeID: UInt32; let offset: UInt64 }
        var raws: [Raw] = []
        raws.reserveCapacity(min(tensorCount, file.count / 32))
        for k in 0..<tensorCount {
            r.context = "tensor info \(k)"
            let name = try r.string()
            r.context = name
            let nDims = Int(try r.u32())
            guard nDims >= 1 && nDims <= GGUFFile.maxDims else {
                throw CheckpointError(url, field: name, "\(nDims) dimensions (1...\(GGUFFile.maxDims) allowed)")
            }
            var ne: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64()
                guard d <= UInt64(Int32.max) else { throw CheckpointError(url, field: name, "dimension \(d) too large") }
                ne.append(Int(d))
            }
            raws.append(Raw(name: name, ne: ne, typeID: try r.u32(), offset: try r.u64()))
        }
        let infoEnd = r.pos
        dataOffset = (infoEnd + alignment - 1) / alignment * alignment

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for raw in raws {
            func fail(_ m: String) -> CheckpointError { CheckpointError(url, field: raw.name, m) }
            guard index[raw.name] == nil else { throw fail("duplicate tensor name") }
            guard let type = GGMLType(rawValue: raw.typeID) else { throw fail("unknown ggml type \(raw.typeID)") }
            guard let rowBytes = type.rowBytes(raw.ne[0]) else {
                throw fail("ne0 = \(raw.ne[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            var bytes = rowBytes
            for d in raw.ne.dropFirst() {
                let (p, o) = bytes.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("shape \(raw.ne) overflows") }
                bytes = p
            }
            guard raw.offset % UInt64(alignment) == 0 else {
                throw fail("data offset \(raw.offset) is not a multiple of the alignment \(alignment)")
            }
            guard raw.offset <= UInt64(file.count), bytes <= file.count - dataOffset - Int(raw.offset) else {
                throw fail("tensor data [\(raw.offset), \(raw.offset + UInt64(bytes))) of the data section at \(dataOffset) runs past the end of the file (\(file.count) bytes)")
            }
            index[raw.name] = infos.count
            infos.append(GGUFTensorInfo(name: raw.name, type: type, ne: raw.ne, offset: Int(raw.offset), byteCount: bytes))
        }
        let byOffset = infos.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        for k in byOffset.indices.dropFirst() where byOffset[k].offset < byOffset[k - 1].offset + byOffset[k - 1].byteCount && byOffset[k].byteCount > 0 {
            throw CheckpointError(url, field: byOffset[k].name, "tensor data overlaps tensor `\(byOffset[k - 1].name)`")
        }
        tensorInfos = infos
        self.index = index
    }

    public func info(_ name: String) -> GGUFTensorInfo? { index[name].map { tensorInfos[$0] } }
    public var tensorNames: [String] { tensorInfos.map(\.name) }
    /// `general.architecture`, e.g. "llama".
    public var architecture: String? { metadata["general.architecture"]?.stringValue }

    // MARK: Typed metadata accessors: nil when the key is absent, an error when present with another type.

    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    private func typeError(_ key: String, _ want: String, _ v: GGUFValue) -> CheckpointError {
        CheckpointError(url, field: key, "expected \(want), found \(Self.describe(v))")
    }

    static func describe(_ v: GGUFValue) -> String {
        if case .array(let t, let a) = v { return "an array of \(a.count) \(t)" }
        return "a \(v.type) value"
    }

    public func string(_ key: String) throws -> String? {
        guard let v = metadata[key] else { return nil }
        guard let s = v.stringValue else { throw typeError(key, "a string", v) }
        return s
    }

    public func int(_ key: String) throws -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.intValue else {
            if case .uint64(let u) = v { throw CheckpointError(url, field: key, "uint64 value \(u) does not fit Int") }
            throw typeError(key, "an integer", v)
        }
        return i
    }

    public func float(_ key: String) throws -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.doubleValue else { throw typeError(key, "a number", v) }
        return d
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw typeError(key, "a bool", v) }
        return b
    }

    public func strings(_ key: String) throws -> [String]? {
        guard let v = metadata[key] else { return nil }
        guard case .array(.string, let a) = v else { throw typeError(key, "an array of strings", v) }
        return a.map { $0.stringValue! }
    }

    public func ints(_ key: String) throws -> [Int]? {
        guard let v = metadata[key] else { return nil }
        guard case .array(_, let a) = v else { throw typeError(key, "an array of integers", v) }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let i = e.intValue else { throw typeError(key, "an array of integers", v) }
            out.append(i)
        }
        return out
    }

    public func floats(_ key: String) throws -> [Float]? {
        guard let v = metadata[key] else { return nil }
        guard case .array(_, let a) = v else { throw typeError(key, "an array of numbers", v) }
        var out: [Float] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let d = e.doubleValue else { throw typeError(key, "an array of numbers", v) }
            out.append(Float(d))
        }
        return out
    }

    // MARK: Tensor data

    private func infoOrThrow(_ name: String) throws -> GGUFTensorInfo {
        guard let i = info(name) else { throw CheckpointError(url, field: name, "no such tensor") }
        return i
    }

    /// The stored bytes of a tensor.
    public func rawBytes(_ name: String) throws -> [UInt8] {
        let i = try infoOrThrow(name)
        return [UInt8](UnsafeRawBufferPointer(start: storage(i), count: i.byteCount))
    }

    func storage(_ i: GGUFTensorInfo) -> UnsafeRawPointer {
        file.bytes.baseAddress!.advanced(by: dataOffset + i.offset)
    }

    /// The tensor dequantised to fp32 in GGUF row order, shaped `info.shape` (ne reversed).
    public func tensor(_ name: String) throws -> Tensor {
        try tensor(infoOrThrow(name), rowMap: nil)
    }

    /// Dequantises straight into the result buffer; source row r goes to row `rowMap(r)`.
    func tensor(_ i: GGUFTensorInfo, rowMap: ((Int) -> Int)?) throws -> Tensor {
        guard i.type.isDequantizable else {
            throw CheckpointError(url, field: i.name, "ggml type \(i.type.name) cannot be dequantised (supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))")
        }
        let n = i.elementCount
        let src = storage(i)
        let data = [Float](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0 {
                Dequantize.rows(i.type, from: src, rows: i.rowCount, rowLength: i.rowLength, into: buf.baseAddress!, rowMap: rowMap)
            }
            count = n
        }
        if i.byteCount >= 1 << 20 { file.releasePages(offset: dataOffset + i.offset, length: i.byteCount) }
        return Tensor(shape: i.shape, data: data)
    }

    /// Lets the mapped tensor data leave the resident set once it has been converted.
    public func releaseMappedPages() { file.releasePages() }
}

/// A bounds-checked little-endian cursor over the mapped header.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    let url: URL
    var pos = 0
    /// The key or tensor being read, for error messages.
    var context: String? = nil

    init(bytes: UnsafeRawBufferPointer, url: URL) {
        self.bytes = bytes
        self.url = url
    }

    func peekMagic() -> Bool {
        bytes[0] == 0x47 && bytes[1] == 0x47 && bytes[2] == 0x55 && bytes[3] == 0x46
    }

    func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= bytes.count - pos else {
            throw CheckpointError(url, field: context, "truncated file: \(what) needs \(n) bytes at offset \(pos), \(bytes.count - pos) left")
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: T.self))
        pos += MemoryLayout<T>.size
        return v
    }

    mutating func u32() throws -> UInt32 { try load(UInt32.self, "a u32") }
    mutating func u64() throws -> UInt64 { try load(UInt64.self, "a u64") }

    /// A u64 count whose elements need at least `minimumSize` bytes each, checked against
    /// what is left so a corrupt count fails here instead of reserving terabytes.
    mutating func count(_ what: String, minimumSize: Int) throws -> Int {
        let n = try u64()
        guard n <= UInt64(bytes.count - pos) / UInt64(max(minimumSize, 1)) else {
            throw CheckpointError(url, field: context, "truncated file: \(what) \(n) cannot fit in the \(bytes.count - pos) bytes left")
        }
        return Int(n)
    }

    mutating func string() throws -> String {
        let n = try u64()
        guard n <= UInt64(bytes.count - pos) else {
            throw CheckpointError(url, field: context, "truncated file: string of \(n) bytes at offset \(pos), \(bytes.count - pos) left")
        }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + Int(n))]), as: UTF8.self)
        pos += Int(n)
        return s
    }

    mutating func valueType() throws -> GGUFValueType {
        let t = try u32()
        guard let vt = GGUFValueType(rawValue: t) else {
            throw CheckpointError(url, field: context, "unknown metadata value type \(t) at offset \(pos - 4)")
        }
        return vt
    }

    mutating func value(_ t: GGUFValueType, depth: Int) throws -> GGUFValue {
        switch t {
        case .uint8: return .uint8(try load(UInt8.self, "a uint8"))
        case .int8: return .int8(try load(Int8.self, "an int8"))
        case .uint16: return .uint16(try load(UInt16.self, "a uint16"))
        case .int16: return .int16(try load(Int16.self, "an int16"))
        case .uint32: return .uint32(try load(UInt32.self, "a uint32"))
        case .int32: return .int32(try load(Int32.self, "an int32"))
        case .uint64: return .uint64(try load(UInt64.self, "a uint64"))
        case .int64: return .int64(try load(Int64.self, "an int64"))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, "a float32")))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, "a float64")))
        case .bool:
            let b = try load(UInt8.self, "a bool")
            guard b <= 1 else { throw CheckpointError(url, field: context, "bool value \(b) at offset \(pos - 1) is neither 0 nor 1") }
            return .bool(b == 1)
        case .string: return .string(try string())
        case .array:
            // Nesting is legal but a corrupt file could recurse without end.
            guard depth < 8 else { throw CheckpointError(url, field: context, "arrays nested deeper than 8") }
            let et = try valueType()
            let n = try count("array length", minimumSize: et.minimumSize)
            var a: [GGUFValue] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try value(et, depth: depth + 1)) }
            return .array(et, a)
        }
    }
}
