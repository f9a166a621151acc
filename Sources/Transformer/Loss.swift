// Next-token cross-entropy from final hidden states, computed in row chunks so the
// [tokens, vocab] logits never exist whole (49152 × 2048 fp32 would be 400 MB).
import Foundation
import Tensors

extension Model {
    /// Per-position NLL of `targets[i]` given normed hidden row i ([rows, H]), in fp32 with
    /// a float64 log-sum-exp accumulation.
    public func tokenNLL(normedHidden h: [Float], rows: Int, targets: [Int], chunk: Int = 256) -> [Double] {
        precondition(targets.count == rows)
        let H = hiddenSize, V = vocabSize
        var out = [Double](repeating: 0, count: rows)
        var r0 = 0
        let head = Linear(weight: outputWeight)
        var logits = [Float](repeating: 0, count: min(chunk, rows) * V)
        while r0 < rows {
            let n = min(chunk, rows - r0)
            h.withUnsafeBufferPointer { hp in
                logits.withUnsafeMutableBufferPointer { lp in
                    head.apply(hp.baseAddress! + r0 * H, rows: n, into: lp.baseAddress!)
                }
            }
            logits.withUnsafeBufferPointer { lp in
              out.withUnsafeMutableBufferPointer { op in
                parallelRows(n, minRowsPerChunk: 8) { a, c in
                    for r in a..<(a + c) {
                        let row = lp.baseAddress! + r * V
                        var m = -Float.infinity
                        for j in 0..<V { m = max(m, row[j]) }
                        // Float64 sum: in fp32 the thousands of tiny tail terms fall below half
                        // an ulp of the running sum and vanish, biasing the NLL low by ~1e-4.
                        var s: Double = 0
                        for j in 0..<V { s += Double(expf(row[j] - m)) }
                        op[r0 + r] = Double(m) + log(s) - Double(row[targets[r0 + r]])
                    }
                }
              }
            }
            r0 += n
        }
        return out
    }

    /// Mean next-token loss of each sequence: positions 0..T−2 predict tokens 1..T−1.
    public func sequenceLoss(_ ids: [[Int]]) throws -> [Double] {
        shiftedLosses(try forward(ids, options: ForwardOptions(logits: .none)), ids: ids)
    }

    /// Per-row mean NLL of the T−1 shifted predictions of a forward pass over `ids`.
    public func shiftedLosses(_ r: ForwardResult, ids: [[Int]]) -> [Double] {
        let T = r.length, H = hiddenSize
        return ids.enumerated().map { b, row in
            let hs = Array(r.finalNormOutput.data[(b * T * H)..<((b * T + T - 1) * H)])
            return tokenNLL(normedHidden: hs, rows: T - 1, targets: Array(row.dropFirst())).reduce(0, +) / Double(T - 1)
        }
    }
}
