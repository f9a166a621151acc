// AdamW against the update written out by hand in float64 (torch.optim.AdamW's formulas; fp32
// rounding of values near 2 allows a few 1e-6), the
// warm-up + cosine schedule, global-norm clipping, and restoring state.
import Distillation
import Foundation
import Testing

@Test func adamWStepsMatchTheFormula() throws {
    var o = AdamWOptions()
    o.lr = 0.1; o.weightDecay = 0.01; o.clipNorm = 0; o.totalSteps = 1000
    let opt = AdamW(sizes: [3], options: o)
    var p: [[Float]] = [[1, -2, 0.5]]
    let gs: [[Float]] = [[0.3, -0.1, 2], [0.1, 0.2, -1]]
    // By hand in float64.
    var want = [1.0, -2.0, 0.5], m = [0.0, 0, 0], v = [0.0, 0, 0]
    for (t, g) in gs.enumerated() {
        let lr = opt.learningRate(at: t + 1)
        for i in 0..<3 {
            want[i] *= 1 - lr * 0.01
            m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
            v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
            let mh = m[i] / (1 - pow(0.9, Double(t + 1))), vh = v[i] / (1 - pow(0.999, Double(t + 1)))
            want[i] -= lr * mh / (vh.squareRoot() + 1e-8)
        }
        opt.update(&p, grads: [g])
    }
    for i in 0..<3 { #expect(abs(Double(p[0][i]) - want[i]) < 4e-6, "\(i): \(p[0][i]) vs \(want[i])") }
    #expect(opt.step == 2)
}

@Test func warmupThenCosine() {
    var o = AdamWOptions()
    o.lr = 1; o.warmupSteps = 10; o.totalSteps = 110; o.minLRFraction = 0.1
    let opt = AdamW(sizes: [1], options: o)
    #expect(abs(opt.learningRate(at: 1) - 0.1) < 1e-12)
    #expect(abs(opt.learningRate(at: 10) - 1) < 1e-12)
    #expect(abs(opt.learningRate(at: 60) - (0.1 + 0.9 * 0.5)) < 1e-12)
    #expect(abs(opt.learningRate(at: 110) - 0.1) < 1e-12)
    #expect(abs(opt.learningRate(at: 500) - 0.1) < 1e-12)
}

@Test func clippingScalesToTheGlobalNorm() {
    var o = AdamWOptions()
    o.lr = 0.01; o.clipNorm = 1; o.totalSteps = 10
    let a = AdamW(sizes: [2, 1], options: o), b = AdamW(sizes: [2, 1], options: o)
    var p1: [[Float]] = [[0, 0], [0]], p2 = p1
    let r = a.update(&p1, grads: [[30, 40], [0]])   // norm 50 → scaled to 1
    b.update(&p2, grads: [[0.6, 0.8], [0]])
    #expect(abs(r.gradNorm - 50) < 1e-9)
    for (x, y) in zip(p1[0], p2[0]) { #expect(abs(x - y) < 1e-6) }
}

@Test func restoredStateContinuesExactly() throws {
    var o = AdamWOptions()
    o.lr = 0.05; o.totalSteps = 10; o.warmupSteps = 2
    let g: [[Float]] = [[0.5, -0.25]]
    let straight = AdamW(sizes: [2], options: o)
    var p: [[Float]] = [[1, 2]]
    for _ in 0..<4 { straight.update(&p, grads: g) }
    let first = AdamW(sizes: [2], options: o)
    var q: [[Float]] = [[1, 2]]
    for _ in 0..<2 { first.update(&q, grads: g) }
    let s = first.state()
    let second = AdamW(sizes: [2], options: o)
    try second.restore(step: s.step, m: s.m, v: s.v)
    for _ in 0..<2 { second.update(&q, grads: g) }
    #expect(p == q)
    #expect(throws: DistillationError.self) { try second.restore(step: 1, m: [[0]], v: [[0]]) }
}
