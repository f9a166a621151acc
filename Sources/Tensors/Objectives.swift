// Training objectives with their gradients: next-token cross-entropy over logit rows, the
// distillation KL between temperature-softened distributions, MSE and cosine distance.
// Sums accumulate in Double; each gradient is checked by finite differences in the tests.
import Foundation

public enum Objectives {
    /// Σ over rows with a target of −log softmax(z)[target], in place: each such row of
    /// `logits` becomes `scale` · (softmax(z) − onehot(target)), the other rows (target < 0,
    /// e.g. −100 as HF's ignore index) become 0. Returns the unscaled sum.
    public static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, rows: Int, cols V: Int, targets: UnsafePointer<Int>,
                                    scale: Float) -> Double {
        var total: Double = 0
        for r in 0..<rows {
            let z = logits + r * V
            let t = targets[r]
            guard t >= 0 else { z.update(repeating: 0, count: V); continue }
            var m = -Float.infinity
            for j in 0..<V { m = max(m, z[j]) }
            let zt = z[t]
            // Float64 sum: see Model.tokenNLL (fp32 loses the tail of a 50k-entry sum).
            var s: Double = 0
            for j in 0..<V { let e = expf(z[j] - m); z[j] = e; s += Double(e) }
            total += Double(m) + log(s) - Double(zt)
            let k = Float(1 / s) * scale
            for j in 0..<V { z[j] *= k }
            z[t] -= scale
        }
        return total
    }

    /// Mean over rows of KL(softmax(teacher/τ) ‖ softmax(student/τ)), rows of length `cols`.
    /// Returns the loss and ∂loss/∂student = (softmax(student/τ) − softmax(teacher/τ)) / (τ · rows).
    /// (Hinton's τ² factor is the caller's choice.)
    public static func klDivergence(student: [Float], teacher: [Float], cols: Int, temperature tau: Float = 1) -> (loss: Double, dStudent: [Float]) {
        precondition(student.count == teacher.count && student.count % cols == 0)
        let rows = student.count / cols
        var grad = [Float](repeating: 0, count: student.count)
        let total = student.withUnsafeBufferPointer { sp in
            teacher.withUnsafeBufferPointer { tp in
                grad.withUnsafeMutableBufferPointer { gp in
                    klDivergence(student: sp.baseAddress!, teacher: tp.baseAddress!, rows: rows, cols: cols, temperature: tau,
                                 gradScale: 1 / Double(rows), grad: gp.baseAddress!)
                }
            }
        }
        return (total / Double(rows), grad)
    }

    /// The same over raw rows, without copies: returns the *sum* over rows of the KL and
    /// writes gradScale · (softmax(student/τ) − softmax(teacher/τ)) / τ into `grad`, which may
    /// be `student` itself (each entry is read before it is written).
    public static func klDivergence(student s: UnsafePointer<Float>, teacher t: UnsafePointer<Float>, rows: Int, cols: Int,
                                    temperature tau: Float, gradScale: Double, grad: UnsafeMutablePointer<Float>) -> Double {
        let it = 1 / Double(tau)
        func logSumExp(_ x: UnsafePointer<Float>) -> Double {
            var m = -Double.infinity
            for j in 0..<cols { m = max(m, Double(x[j]) * it) }
            var z: Double = 0
            for j in 0..<cols { z += exp(Double(x[j]) * it - m) }
            return m + log(z)
        }
        var total: Double = 0
        for r in 0..<rows {
            let sr = s + r * cols, tr = t + r * cols, gr = grad + r * cols
            let ls = logSumExp(sr), lt = logSumExp(tr)
            for j in 0..<cols {
                let lp = Double(tr[j]) * it - lt, lq = Double(sr[j]) * it - ls
                let p = exp(lp), q = exp(lq)
                if p > 0 { total += p * (lp - lq) }
                gr[j] = Float((q - p) * it * gradScale)
            }
        }
        return total
    }

    /// Mean of (a − b)² over all entries; ∂/∂a = 2(a − b)/n.
    public static func meanSquaredError(_ a: [Float], _ b: [Float]) -> (loss: Double, dA: [Float]) {
        precondition(a.count == b.count && !a.isEmpty)
        let n = Double(a.count)
        var s: Double = 0
        var g = [Float](repeating: 0, count: a.count)
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            s += d * d
            g[i] = Float(2 * d / n)
        }
        return (s / n, g)
    }

    /// Mean over rows of 1 − cos(a_r, b_r); ∂/∂a_r = −(b_r/(|a||b|) − cos · a_r/|a|²) / rows.
    public static func cosineDistance(_ a: [Float], _ b: [Float], cols: Int) -> (loss: Double, dA: [Float]) {
        precondition(a.count == b.count && a.count % cols == 0)
        let rows = a.count / cols
        var g = [Float](repeating: 0, count: a.count)
        var total: Double = 0
        for r in 0..<rows {
            let base = r * cols
            var ab: Double = 0, aa: Double = 0, bb: Double = 0
            for j in 0..<cols {
                let x = Double(a[base + j]), y = Double(b[base + j])
                ab += x * y; aa += x * x; bb += y * y
            }
            let na = aa.squareRoot(), nb = bb.squareRoot()
            guard na > 0, nb > 0 else { total += 1; continue }
            let c = ab / (na * nb)
            total += 1 - c
            for j in 0..<cols {
                let d = Double(b[base + j]) / (na * nb) - c * Double(a[base + j]) / aa
                g[base + j] = Float(-d / Double(rows))
            }
        }
        return (total / Double(rows), g)
    }
}
