// ggml's tensor types and their block layouts (ggml-common.h / ggml-quants.c,
// dequantize_row_*), converted to fp32. Each kernel reproduces ggml's arithmetic in the same
// order (e.g. (d·sc)·q − dmin·m for the K-quants), so results match ggml and the python
// `gguf` package bit for bit. Rows are independent, so large tensors run rows in parallel.
import Foundation
import Tensors

/// ggml's type ids (enum ggml_type); ids 4 and 5 were removed upstream.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    public var name: String {
        switch self {
        case .f32: "F32"; case .f16: "F16"; case .bf16: "BF16"; case .f64: "F64"
        case .q4_0: "Q4_0"; case .q4_1: "Q4_1"; case .q5_0: "Q5_0"; case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"; case .q8_1: "Q8_1"
        case .q2_K: "Q2_K"; case .q3_K: "Q3_K"; case .q4_K: "Q4_K"; case .q5_K: "Q5_K"; case .q6_K: "Q6_K"; case .q8_K: "Q8_K"
        case .iq2_xxs: "IQ2_XXS"; case .iq2_xs: "IQ2_XS"; case .iq3_xxs: "IQ3_XXS"; case .iq1_s: "IQ1_S"
        case .iq4_nl: "IQ4_NL"; case .iq3_s: "IQ3_S"; case .iq2_s: "IQ2_S"; case .iq4_xs: "IQ4_XS"; case .iq1_m: "IQ1_M"
        case .i8: "I8"; case .i16: "I16"; case .i32: "I32"; case .i64: "I64"
        case .tq1_0: "TQ1_0"; case .tq2_0: "TQ2_0"; case .mxfp4: "MXFP4"
        }
    }

    /// Values per block (ggml's blck_size): blocks run along ne0.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: 32
        default: 256
        }
    }

    /// Bytes per block (ggml's type_size).
    public var typeSize: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .f64, .i64: 8
        case .i8: 1
        case .q4_0: 18; case .q4_1: 20; case .q5_0: 22; case .q5_1: 24; case .q8_0: 34; case .q8_1: 36
        case .q2_K: 84; case .q3_K: 110; case .q4_K: 144; case .q5_K: 176; case .q6_K: 210; case .q8_K: 292
        case .iq2_xxs: 66; case .iq2_xs: 74; case .iq3_xxs: 98; case .iq1_s: 50; case .iq4_nl: 18
        case .iq3_s: 110; case .iq2_s: 82; case .iq4_xs: 136; case .iq1_m: 56
        case .tq1_0: 54; case .tq2_0: 66; case .mxfp4: 17
        }
    }

    /// The types `Dequantize` converts.
    public static let dequantizable: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]
    public var isDequantizable: Bool { GGMLType.dequantizable.contains(self) }

    /// Bytes of one row of `rowLength` values; nil if the row is not a whole number of blocks.
    public func rowBytes(_ rowLength: Int) -> Int? {
        rowLength % blockSize == 0 ? rowLength / blockSize * typeSize : nil
    }
}

public enum Dequantize {
    /// Below this many values a tensor is converted on the calling thread.
    static let parallelThreshold = 1 << 15

    /// Converts `rows` rows of `rowLength` values stored as `type` at `src` into `dst`;
    /// source row r lands in destination row `rowMap(r)` (the Q/K un-permutation happens
    /// here, so no second copy is made). `type` must be dequantizable and `rowLength` a
    /// multiple of its block size.
    public static func rows(_ type: GGMLType, from src: UnsafeRawPointer, rows: Int, rowLength: Int,
                            into dst: UnsafeMutablePointer<Float>, rowMap: ((Int) -> Int)? = nil) {
        precondition(type.isDequantizable, "Dequantize.rows: \(type.name) is not supported")
        guard let rowBytes = type.rowBytes(rowLength) else {
            preconditionFailure("Dequantize.rows: row of \(rowLength) is not a whole number of \(type.name) blocks")
        }
        if rows == 0 || rowLength == 0 { return }
        let body = { (r: Int) in
            let d = rowMap?(r) ?? r
            row(type, src.advanced(by: r * rowBytes), rowLength, dst.advanced(by: d * rowLength))
        }
        if rows * rowLength < parallelThreshold || rows == 1 {
            if rows == 1 && rowLength >= parallelThreshold && type.blockSize == 1 {
                // A long vector (or F32 embedding stored 1-D): split it into pieces instead.
                let pieces = 64, step = (rowLength + pieces - 1) / pieces
                Threads.parallelFor(pieces) { p in
                    let a = p * step, b = min(rowLength, a + step)
                    if a < b { row(type, src.advanced(by: a * type.typeSize), b - a, dst.advanced(by: a)) }
                }
                return
            }
            for r in 0..<rows { body(r) }
        } else {
            Threads.parallelFor(rows, body)
        }
    }

    /// One row of `n` values (n a multiple of the block size).
    @inline(__always)
    static func row(_ type: GGMLType, _ src: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        let b = src.assumingMemoryBound(to: UInt8.self)
        switch type {
        case .f32: Convert.f32(src, n, y)
        case .f16: Convert.f16(src, n, y)
        case .bf16: Convert.bf16(src, n, y)
        case .q8_0: for k in 0..<(n / 32) { q8_0(b + k * 34, y + k * 32) }
        case .q4_0: for k in 0..<(n / 32) { q4_0(b + k * 18, y + k * 32) }
        case .q4_1: for k in 0..<(n / 32) { q4_1(b + k * 20, y + k * 32) }
        case .q5_0: for k in 0..<(n / 32) { q5_0(b + k * 22, y + k * 32) }
        case .q5_1: for k in 0..<(n / 32) { q5_1(b + k * 24, y + k * 32) }
        case .q4_K: for k in 0..<(n / 256) { q4_K(b + k * 144, y + k * 256) }
        case .q5_K: for k in 0..<(n / 256) { q5_K(b + k * 176, y + k * 256) }
        case .q6_K: for k in 0..<(n / 256) { q6_K(b + k * 210, y + k * 256) }
        default: preconditionFailure("Dequantize.row: \(type.name) is not supported")
        }
    }

    @inline(__always) static func half(_ b: UnsafePointer<UInt8>, _ o: Int) -> Float {
        f16ToF32(UInt16(b[o]) | UInt16(b[o + 1]) << 8)
    }

    @inline(__always) static func u32(_ b: UnsafePointer<UInt8>, _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    /// block_q8_0 (34 bytes): f16 d, int8 qs[32]; y = qs·d.
    @inline(__always) static func q8_0(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[2 + j])) * d }
    }

    /// block_q4_0 (18 bytes): f16 d, qs[16] (low nibbles = values 0..15, high = 16..31); y = (q − 8)·d.
    @inline(__always) static func q4_0(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = b[2 + j]
            y[j] = Float(Int32(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int32(q >> 4) - 8) * d
        }
    }

    /// block_q4_1 (20 bytes): f16 d, f16 m, qs[16]; y = q·d + m.
    @inline(__always) static func q4_1(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = b[4 + j]
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// block_q5_0 (22 bytes): f16 d, u32 qh (5th bits), qs[16]; y = (q − 16)·d.
    @inline(__always) static func q5_0(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), qh = u32(b, 2)
        for j in 0..<16 {
            let q = UInt32(b[6 + j])
            let h0 = ((qh >> UInt32(j)) << 4) & 0x10
            let h1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int32((q & 0x0F) | h0) - 16) * d
            y[j + 16] = Float(Int32((q >> 4) | h1) - 16) * d
        }
    }

    /// block_q5_1 (24 bytes): f16 d, f16 m, u32 qh, qs[16]; y = q·d + m.
    @inline(__always) static func q5_1(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2), qh = u32(b, 4)
        for j in 0..<16 {
            let q = UInt32(b[8 + j])
            let h0 = ((qh >> UInt32(j)) << 4) & 0x10
            let h1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float((q & 0x0F) | h0) * d + m
            y[j + 16] = Float((q >> 4) | h1) * d + m
        }
    }

    /// get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes.
    @inline(__always) static func scaleMin(_ j: Int, _ s: UnsafePointer<UInt8>) -> (Float, Float) {
        if j < 4 { return (Float(s[j] & 63), Float(s[j + 4] & 63)) }
        return (Float((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4)),
                Float((s[j + 4] >> 4) | ((s[j] >> 6) << 4)))
    }

    /// block_q4_K (144 bytes): f16 d, f16 dmin, scales[12], qs[128]; 8 sub-blocks of 32,
    /// y = (d·sc)·q − dmin·m; each 32 bytes of qs hold two sub-blocks (low, then high nibbles).
    @inline(__always) static func q4_K(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let scales = b + 4
        for j in 0..<4 {
            let q = b + 16 + 32 * j, out = y + 64 * j
            let (sc1, m1) = scaleMin(2 * j, scales), (sc2, m2) = scaleMin(2 * j + 1, scales)
            let d1 = d * sc1, dm1 = dmin * m1, d2 = d * sc2, dm2 = dmin * m2
            for l in 0..<32 {
                out[l] = d1 * Float(q[l] & 0x0F) - dm1
                out[l + 32] = d2 * Float(q[l] >> 4) - dm2
            }
        }
    }

    /// block_q5_K (176 bytes): f16 d, f16 dmin, scales[12], qh[32], qs[128]; as Q4_K with a
    /// 5th bit from qh (bit 2j for the low-nibble sub-block, 2j + 1 for the high one).
    @inline(__always) static func q5_K(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let scales = b + 4, qh = b + 16
        for j in 0..<4 {
            let ql = b + 48 + 32 * j, out = y + 64 * j
            let (sc1, m1) = scaleMin(2 * j, scales), (sc2, m2) = scaleMin(2 * j + 1, scales)
            let d1 = d * sc1, dm1 = dmin * m1, d2 = d * sc2, dm2 = dmin * m2
            let u1 = UInt8(1) << UInt8(2 * j), u2 = UInt8(2) << UInt8(2 * j)
            for l in 0..<32 {
                let h1: UInt8 = (qh[l] & u1) != 0 ? 16 : 0
                let h2: UInt8 = (qh[l] & u2) != 0 ? 16 : 0
                out[l] = d1 * Float((ql[l] & 0x0F) + h1) - dm1
                out[l + 32] = d2 * Float((ql[l] >> 4) + h2) - dm2
            }
        }
    }

    /// block_q6_K (210 bytes): ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16],
    /// f16 d; 16 sub-blocks of 16, y = (d·sc)·(q − 32).
    @inline(__always) static func q6_K(_ b: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 208)
        for n in 0..<2 {
            let ql = b + 64 * n, qh = b + 128 + 32 * n, sc = b + 192 + 8 * n, out = y + 128 * n
            for l in 0..<32 {
                let s = l / 16
                let q1 = Int32((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32
                let q2 = Int32((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32
                let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                out[l] = d * Float(Int8(bitPattern: sc[s])) * Float(q1)
                out[l + 32] = d * Float(Int8(bitPattern: sc[s + 2])) * Float(q2)
                out[l + 64] = d * Float(Int8(bitPattern: sc[s + 4])) * Float(q3)
                out[l + 96] = d * Float(Int8(bitPattern: sc[s + 6])) * Float(q4)
            }
        }
    }
}

/// Element-wise conversions of stored floats to fp32, shared by the GGUF and safetensors readers.
enum Convert {
    @inline(__always) static func f32(_ src: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(y).copyMemory(from: src, byteCount: n * 4)
    }

    @inline(__always) static func f16(_ src: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        let b = src.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n { y[i] = f16ToF32(UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8) }
    }

    @inline(__always) static func bf16(_ src: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        let b = src.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n { y[i] = Float(bitPattern: (UInt32(b[2 * i]) | UInt32(b[2 * i + 1]) << 8) << 16) }
    }

    @inline(__always) static func f64(_ src: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
    }

    /// A safetensors float dtype to fp32, in parallel pieces for large tensors.
    static func toF32(_ dtype: StorageDType, _ src: UnsafeRawPointer, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        let size = dtype.byteSize
        let one: (UnsafeRawPointer, Int, UnsafeMutablePointer<Float>) -> Void
        switch dtype {
        case .f32: one = { f32($0, $1, $2) }
        case .f16: one = { f16($0, $1, $2) }
        case .bf16: one = { bf16($0, $1, $2) }
        case .f64: one = { f64($0, $1, $2) }
        default: preconditionFailure("Convert.toF32: \(dtype.rawValue) is not a float dtype")
        }
        if n < Dequantize.parallelThreshold {
            one(src, n, y)
            return
        }
        let pieces = 64, step = (n + pieces - 1) / pieces
        Threads.parallelFor(pieces) { p in
            let a = p * step, b = min(n, a + step)
            if a < b { one(src.advanced(by: a * size), b - a, y.advanced(by: a)) }
        }
    }
}
