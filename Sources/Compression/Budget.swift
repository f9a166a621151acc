// The small exact rules CoMe's decisions hang on: block_ratio (§3.5), distribute_and_round
// (§3.6), top-n channel choice with the documented tie rule (§8.2 point 5, Q24), the
// --wo-repeat exclusion (§3.10, bound-checked instead of Q5's IndexError) and first-argmin.

public enum Budget {
    /// q_i = (s_i/Σs)^p / Σ(...), then the first maximum raised to the floor μ with the
    /// others rescaled (§3.5), in float64 with the reference's operation order.
    public static func blockRatio(_ scores: [Double], power p: Double, floor mu: Double) -> [Double] {
        precondition(!scores.isEmpty)
        let total = pySum(scores)
        let normalized = scores.map { $0 / total }
        let scaled = normalized.map { p == 1 ? $0 : pow($0, p) }
        let scaledTotal = pySum(scaled)
        var q = scaled.map { $0 / scaledTotal }
        let m = firstArgmax(q)
        if q[m] < mu {
            q[m] = mu
            // The reference takes sum(q) − μ after the assignment: the others' sum, as rounded.
            let others = pySum(q) - mu
            if others > 0 {
                for i in q.indices where i != m { q[i] = q[i] * (1 - mu) / others }
            } else {
                for i in q.indices where i != m { q[i] = (1 - mu) / Double(q.count - 1) }
            }
        }
        return q
    }

    /// n_i = trunc(N·q_i) for all but the first maximum, which takes the remainder (§3.6).
    public static func distributeAndRound(_ n: Int, _ q: [Double]) -> [Int] {
        let m = firstArgmax(q)
        var out = q.enumerated().map { $0.offset == m ? 0 : Int(Double(n) * $0.element) }
        out[m] = n - out.reduce(0, +)
        return out
    }

    /// The `n` highest-scoring indices in ascending index order. Ties are broken by a stable
    /// ascending sort on (score, index) keeping the tail: the higher index wins (Q24).
    public static func keepTop(_ scores: [Float], _ n: Int) -> [Int] {
        guard n > 0 else { return [] }
        let order = scores.indices.sorted { (scores[$0], $0) < (scores[$1], $1) }
        return order.suffix(n).sorted()
    }

    /// Skip-window indices `--wo-repeat` excludes for the layout `layout` (§3.10): for each
    /// merged element at position p, windows p−(m−1) … p+m−2 that exist. `dropped` lists the
    /// indices the reference would have written out of range (its IndexError, Q5).
    public static func woRepeatExclusions(_ layout: [Bool], mergeItem m: Int, windows: Int) -> (excluded: [Int], dropped: [Int]) {
        var ex = Set<Int>()
        for (p, merged) in layout.enumerated() where merged {
            for i in (p - (m - 1))..<(p + m - 1) where i >= 0 { ex.insert(i) }
        }
        return (ex.filter { $0 < windows }.sorted(), ex.filter { $0 >= windows }.sorted())
    }

    /// The first index of the minimum (an all-+inf vector gives 0), as Python's list.index(min()).
    public static func firstArgmin(_ v: [Double]) -> Int {
        var best = 0
        for i in v.indices where v[i] < v[best] { best = i }
        return best
    }

    public static func firstArgmax(_ v: [Double]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }

    /// Python's left-to-right float sum.
    static func pySum(_ v: [Double]) -> Double { v.reduce(0, +) }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
