// Causal softmax attention with GQA, optional key-padding mask and sliding window, over
// query blocks so that at most one [block, keys] score matrix per head exists at a time.
// Scores are q·kᵀ · scale (scale = 1/sqrt(headDim)), softmax in fp32, as HF's eager path.
import COpenBLAS
import Foundation
import Tensors

enum Attention {
    static let queryBlock = 256

    /// - q: [Tq, qStride] with head h in columns h·hd..<(h+1)·hd
    /// - k, v: [Tk, kvStride], head g likewise
    /// - out: [Tq, oStride]
    /// - queryOffset: index of query 0 among the keys (the cache length before these queries)
    /// - keyMask: Tk flags (1 = attend), nil = all keys real
    /// - window: keys a query sees including itself (Mistral `sliding_window`)
    /// - segments: Tk segment ids (queries are keys queryOffset..<queryOffset+Tq), or nil: a
    ///   query sees the keys of segment 0 and of its own segment (packed continuations
    ///   sharing one context)
    static func run(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, kvStride: Int,
                    out: UnsafeMutablePointer<Float>, oStride: Int, queries Tq: Int, keys Tk: Int,
                    heads: Int, kvHeads: Int, headDim hd: Int, queryOffset: Int, keyMask: UnsafePointer<Int32>?,
                    segments: UnsafePointer<Int32>? = nil,
                    window: Int?, scale: Float, headRange: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
        let group = heads / kvHeads
        var i0 = 0
        while i0 < Tq {
            let i1 = min(Tq, i0 + queryBlock)
            let m = i1 - i0
            let (kLo, kHi) = keyRange(queries: i0..<i1, keys: Tk, queryOffset: queryOffset, window: window)
            let n = kHi - kLo
            for h in headRange {
                let g = h / group
                probabilities(scratch, q: q + i0 * qStride + h * hd, qStride: qStride, k: k + kLo * kvStride + g * hd,
                              kvStride: kvStride, rows: m, firstQuery: queryOffset + i0, kLo: kLo, kHi: kHi, headDim: hd,
                              scale: scale, window: window, keyMask: keyMask, segments: segments)
                // out_h[i0..<i1] = P · v_g[kLo..<kHi]
                BLAS.gemm(transA: false, transB: false, m: m, n: hd, k: n, alpha: 1,
                          a: scratch, lda: n, b: v + kLo * kvStride + g * hd, ldb: kvStride,
                          beta: 0, c: out + i0 * oStride + h * hd, ldc: oStride)
            }
            i0 = i1
        }
    }

    /// The backward of `run` for key/value heads `kvHeads` (all query heads of each group, so
    /// that one job owns its dK/dV rows). The probabilities are recomputed from the saved q
    /// and k (post-RoPE) instead of being kept from the forward: the tape then grows with T,
    /// not T², per head, as in FlashAttention's backward. Per query block, with P the masked
    /// softmax of S = scale·QKᵀ and dO the gradient of the output:
    /// dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = scale·dS·K, dK += scale·dSᵀ·Q.
    /// dq is overwritten for the heads of these groups; dk and dv are added to.
    /// scratch: 2 · scratchSize(queries:keys:) floats.
    static func backward(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, kvStride: Int,
                         dOut: UnsafePointer<Float>, oStride: Int, dq: UnsafeMutablePointer<Float>,
                         dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, queries Tq: Int, keys Tk: Int,
                         heads: Int, kvHeads: Int, headDim hd: Int, queryOffset: Int, keyMask: UnsafePointer<Int32>?,
                         segments: UnsafePointer<Int32>?, window: Int?, scale: Float, kvHeadRange: Range<Int>,
                         scratch: UnsafeMutablePointer<Float>) {
        let group = heads / kvHeads
        let block = min(Tq, queryBlock) * Tk
        let p = scratch, dp = scratch + block
        var i0 = 0
        while i0 < Tq {
            let i1 = min(Tq, i0 + queryBlock)
            let m = i1 - i0
            let (kLo, kHi) = keyRange(queries: i0..<i1, keys: Tk, queryOffset: queryOffset, window: window)
            let n = kHi - kLo
            for g in kvHeadRange {
                let kg = k + kLo * kvStride + g * hd, vg = v + kLo * kvStride + g * hd
                let dkg = dk + kLo * kvStride + g * hd, dvg = dv + kLo * kvStride + g * hd
                for h in (g * group)..<((g + 1) * group) {
                    let qh = q + i0 * qStride + h * hd, doh = dOut + i0 * oStride + h * hd
                    probabilities(p, q: qh, qStride: qStride, k: kg, kvStride: kvStride, rows: m, firstQuery: queryOffset + i0,
                                  kLo: kLo, kHi: kHi, headDim: hd, scale: scale, window: window, keyMask: keyMask, segments: segments)
                    BLAS.gemm(transA: false, transB: true, m: m, n: n, k: hd, a: doh, lda: oStride,
                              b: vg, ldb: kvStride, beta: 0, c: dp, ldc: n)
                    BLAS.gemm(transA: true, transB: false, m: n, n: hd, k: m, a: p, lda: n,
                              b: doh, ldb: oStride, beta: 1, c: dvg, ldc: kvStride)
                    KernelGrads.softmax(p, dp, rows: m, cols: n)
                    BLAS.gemm(transA: false, transB: false, m: m, n: hd, k: n, alpha: scale, a: dp, lda: n,
                              b: kg, ldb: kvStride, beta: 0, c: dq + i0 * qStride + h * hd, ldc: qStride)
                    BLAS.gemm(transA: true, transB: false, m: n, n: hd, k: m, alpha: scale, a: dp, lda: n,
                              b: qh, ldb: qStride, beta: 1, c: dkg, ldc: kvStride)
                }
            }
            i0 = i1
        }
    }

    /// P[m, kHi − kLo] = masked softmax(scale · q[0..<m] · k[kLo..<kHi]ᵀ) for one head: `k`
    /// points at key kLo, `firstQuery` is the key index of query row 0.
    @inline(__always)
    static func probabilities(_ p: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>,
                              kvStride: Int, rows m: Int, firstQuery: Int, kLo: Int, kHi: Int, headDim hd: Int, scale: Float,
                              window: Int?, keyMask: UnsafePointer<Int32>?, segments: UnsafePointer<Int32>?) {
        let n = kHi - kLo
        BLAS.gemm(transA: false, transB: true, m: m, n: n, k: hd, alpha: scale, a: q, lda: qStride, b: k, ldb: kvStride,
                  beta: 0, c: p, ldc: n)
        for r in 0..<m {
            maskedSoftmaxRow(p + r * n, query: firstQuery + r, kLo: kLo, kHi: kHi, window: window, keyMask: keyMask, segments: segments)
        }
    }

    /// Keys any query of the block may see: [kLo, kHi) (causal, and the sliding window).
    @inline(__always)
    static func keyRange(queries: Range<Int>, keys Tk: Int, queryOffset: Int, window: Int?) -> (Int, Int) {
        let kHi = min(Tk, queryOffset + queries.upperBound)
        let kLo = window.map { max(0, queryOffset + queries.lowerBound - $0 + 1) } ?? 0
        return (kLo, kHi)
    }

    /// One row of masked softmax in place: `row` holds the scores of keys kLo..<kHi for the
    /// query at key index `qa`; keys it may not see (later, outside the window, padded, of
    /// another segment) become 0, and so does the whole row when it sees no key at all.
    @inline(__always)
    static func maskedSoftmaxRow(_ row: UnsafeMutablePointer<Float>, query qa: Int, kLo: Int, kHi: Int, window: Int?,
                                 keyMask: UnsafePointer<Int32>?, segments: UnsafePointer<Int32>?) {
        let lo = window.map { max(kLo, qa - $0 + 1) } ?? kLo
        let hi = min(kHi, qa + 1)
        for j in kLo..<lo { row[j - kLo] = 0 }
        for j in hi..<kHi { row[j - kLo] = 0 }
        var mx = -Float.infinity
        var s: Float = 0
        if keyMask != nil || segments != nil {
            // Padding and segments: a key is visible when unpadded and of segment 0 or the query's own.
            let own = segments?[qa] ?? 0
            @inline(__always) func visible(_ j: Int) -> Bool {
                (keyMask.map { $0[j] != 0 } ?? true) && (segments.map { $0[j] == 0 || $0[j] == own } ?? true)
            }
            for j in lo..<hi where visible(j) { mx = max(mx, row[j - kLo]) }
            if mx == -Float.infinity {
                // No visible key (a padded query): output zeros, as the values there are meaningless.
                for j in lo..<hi { row[j - kLo] = 0 }
                return
            }
            for j in lo..<hi {
                if visible(j) { let e = expf(row[j - kLo] - mx); row[j - kLo] = e; s += e } else { row[j - kLo] = 0 }
            }
        } else {
            for j in lo..<hi { mx = max(mx, row[j - kLo]) }
            for j in lo..<hi { let e = expf(row[j - kLo] - mx); row[j - kLo] = e; s += e }
        }
        let inv = 1 / s
        for j in lo..<hi { row[j - kLo] *= inv }
    }

    static func scratchSize(queries: Int, keys: Int) -> Int { min(queries, queryBlock) * keys }

    /// The key mask and segment ids of a pass as pointers (nil where absent).
    static func withPointers(_ keyMask: [Int32]?, _ segments: [Int32]?,
                             _ body: (UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> Void) {
        func withOne(_ a: [Int32]?, _ f: (UnsafePointer<Int32>?) -> Void) {
            if let a { a.withUnsafeBufferPointer { f($0.baseAddress!) } } else { f(nil) }
        }
        withOne(keyMask) { km in withOne(segments) { sg in body(km, sg) } }
    }

    /// Runs B sequences' attention work: serially (`B` calls of `job(b, all units)`) when
    /// threads are 1 or the work is small, else one job per (sequence, unit) in parallel
    /// with single-threaded BLAS inside, so the cores are not oversubscribed. A unit is a
    /// query head (forward) or a key/value head (backward, which owns its dK/dV rows).
    static func distribute(B: Int, units: Int, serial: Bool, scratchCount: Int,
                           _ job: (Int, Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let threads = Threads.count
        if threads <= 1 || serial || B * units == 1 {
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for b in 0..<B { job(b, 0..<units, scratch) }
            return
        }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(threads)) }
        Threads.parallelFor(B * units) { j in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            job(j / units, (j % units)..<(j % units + 1), scratch)
        }
    }
}
