// Every backward kernel (KernelGrads) and objective gradient (Objectives) against central
// finite differences of a float64 forward written here: L = Σ R ⊙ f(x) for a random R.
import Foundation
import Testing
@testable import Tensors

/// Central differences (h = 1e-5, float64) of f at every entry of x.
func numericGradient(_ x: [Float], _ f: ([Double]) -> Double) -> [Float] {
    var xd = x.map(Double.init)
    let h = 1e-5
    return (0..<x.count).map { i in
        let v = xd[i]
        xd[i] = v + h; let up = f(xd)
        xd[i] = v - h; let dn = f(xd)
        xd[i] = v
        return Float((up - dn) / (2 * h))
    }
}

/// max |analytic − numeric| ≤ 1e-4 of the largest numeric entry (float32 analytic kernels).
func expectGrad(_ got: [Float], _ want: [Float], _ what: String, tol: Float = 1e-4, sourceLocation: SourceLocation = #_sourceLocation) {
    let scale = max(want.reduce(0) { max($0, abs($1)) }, 1e-6)
    let d = maxAbsDiff(got, want)
    #expect(d <= tol * scale, "\(what): max abs diff \(d) vs largest entry \(scale)", sourceLocation: sourceLocation)
}

func dot(_ r: [Float], _ y: [Double]) -> Double { zip(r, y).reduce(0) { $0 + Double($1.0) * $1.1 } }

// Float64 forwards.
func rms64(_ x: [Double], _ w: [Double], dim: Int, eps: Double) -> [Double] {
    var y = x
    for r in 0..<(x.count / dim) {
        var ss = 0.0
        for j in 0..<dim { ss += x[r * dim + j] * x[r * dim + j] }
        let inv = 1 / (ss / Double(dim) + eps).squareRoot()
        for j in 0..<dim { y[r * dim + j] = w[j] * x[r * dim + j] * inv }
    }
    return y
}

func ln64(_ x: [Double], _ w: [Double], _ b: [Double], dim: Int, eps: Double) -> [Double] {
    var y = x
    for r in 0..<(x.count / dim) {
        let row = Array(x[(r * dim)..<((r + 1) * dim)])
        let mean = row.reduce(0, +) / Double(dim)
        let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
        for j in 0..<dim { y[r * dim + j] = (row[j] - mean) / (v + eps).squareRoot() * w[j] + b[j] }
    }
    return y
}

@Test func rmsNormBackwardMatchesFiniteDifferences() {
    var g = LCG(s: 11)
    let rows = 5, dim = 12
    let x = g.array(rows * dim, scale: 2), w = g.array(dim).map { 1 + 0.3 * $0 }, r = g.array(rows * dim)
    var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: dim)
    KernelGrads.rmsNorm(x, rows: rows, dim: dim, weight: w, eps: 1e-5, dy: r, dx: &dx, dWeight: &dw)
    let wd = w.map(Double.init), xd = x.map(Double.init)
    expectGrad(dx, numericGradient(x) { dot(r, rms64($0, wd, dim: dim, eps: 1e-5)) }, "rmsNorm dx")
    expectGrad(dw, numericGradient(w) { dot(r, rms64(xd, $0, dim: dim, eps: 1e-5)) }, "rmsNorm dw")
}

@Test func layerNormBackwardMatchesFiniteDifferences() {
    var g = LCG(s: 12)
    let rows = 4, dim = 10
    let x = g.array(rows * dim, scale: 2), w = g.array(dim).map { 1 + 0.3 * $0 }, b = g.array(dim, scale: 0.1), r = g.array(rows * dim)
    var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: dim), db = dw
    KernelGrads.layerNorm(x, rows: rows, dim: dim, weight: w, eps: 1e-5, dy: r, dx: &dx, dWeight: &dw, dBias: &db)
    let wd = w.map(Double.init), bd = b.map(Double.init), xd = x.map(Double.init)
    expectGrad(dx, numericGradient(x) { dot(r, ln64($0, wd, bd, dim: dim, eps: 1e-5)) }, "layerNorm dx")
    expectGrad(dw, numericGradient(w) { dot(r, ln64(xd, $0, bd, dim: dim, eps: 1e-5)) }, "layerNorm dw")
    expectGrad(db, numericGradient(b) { dot(r, ln64(xd, wd, $0, dim: dim, eps: 1e-5)) }, "layerNorm db")
}

@Test func ropeBackwardMatchesFiniteDifferences() {
    var g = LCG(s: 13)
    let tokens = 3, heads = 2, hd = 8
    let inv = RoPE.inverseFrequencies(headDim: hd, theta: 10000)
    let (c, s) = RoPE.tables(invFreq: inv, positions: [0, 5, 11])
    let x = g.array(tokens * heads * hd), r = g.array(x.count)
    var d = r
    KernelGrads.rope(&d, tokens: tokens, heads: heads, headDim: hd, stride: heads * hd, cos: c, sin: s)
    let half = hd / 2
    let num = numericGradient(x) { xv in
        var y = xv
        for t in 0..<tokens { for h in 0..<heads { for i in 0..<half {
            let base = t * heads * hd + h * hd
            let a = xv[base + i], b = xv[base + i + half], cc = Double(c[t * half + i]), ss = Double(s[t * half + i])
            y[base + i] = a * cc - b * ss; y[base + i + half] = b * cc + a * ss
        } } }
        return dot(r, y)
    }
    expectGrad(d, num, "rope")
}

@Test func softmaxBackwardMatchesFiniteDifferences() {
    var g = LCG(s: 14)
    let rows = 3, cols = 7
    let x = g.array(rows * cols, scale: 3), r = g.array(x.count)
    var p = x
    Kernels.softmax(&p, rows: rows, cols: cols)
    var d = r
    KernelGrads.softmax(p, &d, rows: rows, cols: cols)
    let num = numericGradient(x) { xv in
        var y = xv
        for i in 0..<rows {
            let row = Array(xv[(i * cols)..<((i + 1) * cols)]), m = row.max()!
            let e = row.map { exp($0 - m) }, s = e.reduce(0, +)
            for j in 0..<cols { y[i * cols + j] = e[j] / s }
        }
        return dot(r, y)
    }
    expectGrad(d, num, "softmax")
}

@Test func activationBackwardsMatchFiniteDifferences() {
    var g = LCG(s: 15)
    let x = g.array(40, scale: 4).map { abs($0) < 1e-3 ? 0.5 : $0 }, u = g.array(40, scale: 2), r = g.array(40)
    let acts: [(String, (Double) -> Double, (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)] = [
        ("silu", { $0 / (1 + exp(-$0)) }, { KernelGrads.silu($0, $1, count: $2) }),
        ("relu", { max($0, 0) }, { KernelGrads.relu($0, $1, count: $2) }),
        ("gelu", { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, { KernelGrads.gelu($0, $1, count: $2) }),
        ("gelu_tanh", { 0.5 * $0 * (1 + tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) },
         { KernelGrads.gelu($0, $1, count: $2, tanhApproximation: true) }),
    ]
    for (name, f, back) in acts {
        var d = r
        d.withUnsafeMutableBufferPointer { back(x, $0.baseAddress!, x.count) }
        expectGrad(d, numericGradient(x) { dot(r, $0.map(f)) }, name)
    }
    var dg = [Float](repeating: 0, count: 40), du = dg
    KernelGrads.siluMul(gate: x, up: u, da: r, count: 40, dGate: &dg, dUp: &du)
    let ud = u.map(Double.init), xd = x.map(Double.init)
    expectGrad(dg, numericGradient(x) { xv in dot(r, (0..<40).map { xv[$0] / (1 + exp(-xv[$0])) * ud[$0] }) }, "swiglu dgate")
    expectGrad(du, numericGradient(u) { uv in dot(r, (0..<40).map { xd[$0] / (1 + exp(-xd[$0])) * uv[$0] }) }, "swiglu dup")
}

func logSoftmax64(_ x: [Double], cols: Int, tau: Double = 1) -> [Double] {
    var y = x
    for i in 0..<(x.count / cols) {
        let row = Array(x[(i * cols)..<((i + 1) * cols)]).map { $0 / tau }, m = row.max()!
        let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
        for j in 0..<cols { y[i * cols + j] = row[j] - lse }
    }
    return y
}

@Test func objectiveGradientsMatchFiniteDifferences() {
    var g = LCG(s: 16)
    let rows = 4, cols = 9
    let s = g.array(rows * cols, scale: 3), t = g.array(rows * cols, scale: 3)
    // Cross-entropy: sum over rows with a target, row 2 ignored (−100), scaled by 1/3.
    let targets = [3, 0, -100, 8]
    var z = s
    let total = z.withUnsafeMutableBufferPointer { Objectives.crossEntropy($0.baseAddress!, rows: rows, cols: cols, targets: targets, scale: 1.0 / 3) }
    let ce: ([Double]) -> Double = { x in
        let ls = logSoftmax64(x, cols: cols)
        return -(0..<rows).filter { targets[$0] >= 0 }.map { ls[$0 * cols + targets[$0]] }.reduce(0, +)
    }
    #expect(abs(total - ce(s.map(Double.init))) < 1e-5)
    expectGrad(z, numericGradient(s) { ce($0) / 3 }, "cross-entropy")
    for tau: Float in [1, 2.5] {
        let (loss, d) = Objectives.klDivergence(student: s, teacher: t, cols: cols, temperature: tau)
        let lp = logSoftmax64(t.map(Double.init), cols: cols, tau: Double(tau))
        let kl: ([Double]) -> Double = { x in
            let lq = logSoftmax64(x, cols: cols, tau: Double(tau))
            return (0..<lp.count).map { exp(lp[$0]) * (lp[$0] - lq[$0]) }.reduce(0, +) / Double(rows)
        }
        #expect(abs(loss - kl(s.map(Double.init))) < 1e-6)
        expectGrad(d, numericGradient(s, kl), "KL τ=\(tau)")
    }
    let (mse, dm) = Objectives.meanSquaredError(s, t)
    let td = t.map(Double.init)
    let mseF: ([Double]) -> Double = { x in zip(x, td).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(x.count) }
    #expect(abs(mse - mseF(s.map(Double.init))) < 1e-6)
    expectGrad(dm, numericGradient(s, mseF), "MSE")
    let (cosL, dc) = Objectives.cosineDistance(s, t, cols: cols)
    let cosF: ([Double]) -> Double = { x in
        (0..<rows).map { r -> Double in
            var ab = 0.0, aa = 0.0, bb = 0.0
            for j in 0..<cols { let a = x[r * cols + j], b = td[r * cols + j]; ab += a * b; aa += a * a; bb += b * b }
            return 1 - ab / (aa.squareRoot() * bb.squareRoot())
        }.reduce(0, +) / Double(rows)
    }
    #expect(abs(cosL - cosF(s.map(Double.init))) < 1e-6)
    expectGrad(dc, numericGradient(s, cosF), "cosine")
}
