// Matrix products through cblas_sgemm. Weights stay in HF's [out, in] layout and are
// transposed in the call, never copied.
import COpenBLAS
import Foundation

public enum BLAS {
    /// y[rows, out] = x[rows, in] · W[out, in]ᵀ (+ beta · y).
    @inline(__always)
    public static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                              weight: UnsafePointer<Float>, outFeatures: Int,
                              into y: UnsafeMutablePointer<Float>, beta: Float = 0) {
        _ = Threads.count
        let t0 = GEMMClock.enabled ? DispatchTime.now().uptimeNanoseconds : 0
        defer { if GEMMClock.enabled { GEMMClock.add(DispatchTime.now().uptimeNanoseconds - t0) } }
        if rows <= 2 {
            // One token at a time (generation): sgemm would pack the whole weight matrix
            // for a single row; sgemv streams it once.
            for r in 0..<rows {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), 1, weight, Int32(inFeatures),
                            x + r * inFeatures, 1, beta, y + r * outFeatures, 1)
            }
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                    Int32(rows), Int32(outFeatures), Int32(inFeatures),
                    1, x, Int32(inFeatures), weight, Int32(inFeatures),
                    beta, y, Int32(outFeatures))
    }

    /// General C[m, n] = alpha · op(A) · op(B) + beta · C with explicit leading dimensions.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = Threads.count
        let t0 = GEMMClock.enabled ? DispatchTime.now().uptimeNanoseconds : 0
        defer { if GEMMClock.enabled { GEMMClock.add(DispatchTime.now().uptimeNanoseconds - t0) } }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Tensor-level linear layer: x [..., in] · W[out, in]ᵀ + bias → [..., out].
    public static func linear(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(w.rank == 2 && x.cols == w.shape[1], "linear: x \(x.shape) vs W \(w.shape)")
        let rows = x.rows, inF = w.shape[1], outF = w.shape[0]
        var y = [Float](repeating: 0, count: rows * outF)
        if let b = bias {
            precondition(b.count == outF)
            for r in 0..<rows { for o in 0..<outF { y[r * outF + o] = b.data[o] } }
        }
        x.data.withUnsafeBufferPointer { xp in
            w.data.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    linear(xp.baseAddress!, rows: rows, inFeatures: inF, weight: wp.baseAddress!,
                           outFeatures: outF, into: yp.baseAddress!, beta: bias == nil ? 0 : 1)
                }
            }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outF], data: y)
    }
}

/// Time spent inside BLAS.gemm / BLAS.linear while `enabled` (for benchmarks). Calls made
/// concurrently from parallel workers (attention) each add their own wall time.
public enum GEMMClock {
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) private static var total: UInt64 = 0
    nonisolated(unsafe) private static var calls = 0
    private static let lock = NSLock()

    static func add(_ ns: UInt64) {
        lock.lock(); total += ns; calls += 1; lock.unlock()
    }

    /// Seconds and call count since the last reset.
    public static var elapsed: (seconds: Double, calls: Int) {
        lock.lock(); defer { lock.unlock() }
        return (Double(total) / 1e9, calls)
    }

    public static func reset() { lock.lock(); total = 0; calls = 0; lock.unlock() }
}
