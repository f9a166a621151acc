// Each fast kernel against its plain twin in ReferenceKernels, and the f16/bf16
// conversions against Swift's own Float16 and the bfloat16 definition.
import Foundation
import Testing
@testable import Tensors

struct LCG {
    var s: UInt64
    mutating func next() -> Float {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
}

func relErr(_ a: [Float], _ b: [Float]) -> Float {
    maxAbsDiff(a, b) / max(1, b.reduce(0) { max($0, abs($1)) })
}

@Test func rmsNormMatchesReference() {
    var g = LCG(s: 1)
    let dim = 96, rows = 7
    let x = g.array(rows * dim, scale: 3), w = g.array(dim)
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer {
        Kernels.rmsNorm(xp.baseAddress!, rows: rows, dim: dim, weight: wp.baseAddress!, eps: 1e-5, into: $0.baseAddress!)
    } } }
    #expect(relErr(y, ReferenceKernels.rmsNorm(x, dim: dim, weight: w, eps: 1e-5)) < 2e-6)
}

@Test func layerNormMatchesReference() {
    var g = LCG(s: 2)
    let dim = 64, rows = 5
    let x = g.array(rows * dim, scale: 4).map { $0 + 2 }, w = g.array(dim), b = g.array(dim)
    var y = [Float](repeating: 0, count: x.count)
    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer {
        Kernels.layerNorm(xp.baseAddress!, rows: rows, dim: dim, weight: wp.baseAddress!, bias: bp.baseAddress!, eps: 1e-5, into: $0.baseAddress!)
    } } } }
    #expect(relErr(y, ReferenceKernels.layerNorm(x, dim: dim, weight: w, bias: b, eps: 1e-5)) < 2e-6)
}

@Test(arguments: [false, true]) func ropeMatchesReference(llama3: Bool) {
    var g = LCG(s: 3)
    let tokens = 11, heads = 3, hd = 16
    let x = g.array(tokens * heads * hd)
    let scaling = llama3 ? RoPEScaling(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64) : nil
    let inv = RoPE.inverseFrequencies(headDim: hd, theta: 10000, llama3: scaling)
    let positions = (0..<tokens).map { $0 * 3 + 1 }
    let (c, s) = RoPE.tables(invFreq: inv, positions: positions)
    var y = x
    c.withUnsafeBufferPointer { cp in s.withUnsafeBufferPointer { sp in y.withUnsafeMutableBufferPointer {
        Kernels.rope($0.baseAddress!, tokens: tokens, heads: heads, headDim: hd, stride: heads * hd, cos: cp.baseAddress!, sin: sp.baseAddress!)
    } } }
    #expect(relErr(y, ReferenceKernels.rope(x, tokens: tokens, heads: heads, headDim: hd, positions: positions, invFreq: inv)) < 1e-5)
}

@Test func llama3FrequenciesFollowTheThreeBands() {
    // Fixture facts (fixtures README §3): of 8 frequencies, i = 0 kept, i = 1, 2 smoothed, i ≥ 3 divided by 8.
    let plain = RoPE.inverseFrequencies(headDim: 16, theta: 10000)
    let scaled = RoPE.inverseFrequencies(headDim: 16, theta: 10000,
                                         llama3: RoPEScaling(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64))
    #expect(scaled[0] == plain[0])
    for i in 1...2 { #expect(scaled[i] < plain[i] && scaled[i] > plain[i] / 8) }
    for i in 3..<8 { #expect(abs(scaled[i] - plain[i] / 8) <= 1e-7 * plain[i]) }
}

@Test func softmaxMatchesReference() {
    var g = LCG(s: 4)
    let rows = 6, cols = 33
    let x = g.array(rows * cols, scale: 20)
    var y = x
    y.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, rows: rows, cols: cols) }
    #expect(maxAbsDiff(y, ReferenceKernels.softmax(x, cols: cols)) < 1e-6)
}

@Test func activationsMatchReference() {
    var g = LCG(s: 5)
    let x = g.array(1000, scale: 8)
    var a = x
    a.withUnsafeMutableBufferPointer { Kernels.silu($0.baseAddress!, count: $0.count) }
    #expect(relErr(a, ReferenceKernels.silu(x)) < 1e-6)
    a = x
    a.withUnsafeMutableBufferPointer { Kernels.relu($0.baseAddress!, count: $0.count) }
    #expect(a == ReferenceKernels.relu(x))
    for approx in [false, true] {
        a = x
        a.withUnsafeMutableBufferPointer { Kernels.gelu($0.baseAddress!, count: $0.count, tanhApproximation: approx) }
        #expect(relErr(a, ReferenceKernels.gelu(x, tanhApproximation: approx)) < 1e-6)
    }
    // SwiGLU product in place equals silu(gate) * up.
    let up = g.array(1000)
    a = x
    a.withUnsafeMutableBufferPointer { gp in up.withUnsafeBufferPointer { Kernels.siluMul(gp.baseAddress!, $0.baseAddress!, count: 1000) } }
    let ref = zip(ReferenceKernels.silu(x), up).map { $0 * $1 }
    #expect(relErr(a, ref) < 1e-6)
}

@Test func sgemmLinearMatchesNaiveProduct() {
    var g = LCG(s: 6)
    let rows = 9, inF = 37, outF = 13
    let x = Tensor(shape: [rows, inF], data: g.array(rows * inF))
    let w = Tensor(shape: [outF, inF], data: g.array(outF * inF))
    let b = Tensor(shape: [outF], data: g.array(outF))
    let y = BLAS.linear(x, w, bias: b)
    var ref = [Float](repeating: 0, count: rows * outF)
    for r in 0..<rows { for o in 0..<outF {
        var s = Double(b.data[o])
        for k in 0..<inF { s += Double(x.data[r * inF + k]) * Double(w.data[o * inF + k]) }
        ref[r * outF + o] = Float(s)
    } }
    #expect(y.shape == [rows, outF])
    #expect(maxAbsDiff(y.data, ref) < 1e-5)
}

@Test func halfConversionIsExactForEveryBitPattern() {
    for bits in 0...UInt16.max {
        let f = f16ToF32(bits)
        let ref = Float(Float16(bitPattern: bits))
        if ref.isNaN { #expect(f.isNaN); continue }
        #expect(f.bitPattern == ref.bitPattern, "f16 \(bits)")
        #expect(f32ToF16(f) == bits || (bits & 0x7FFF) == 0 && f32ToF16(f) & 0x7FFF == 0)
    }
}

@Test func narrowingRoundsToNearestEven() {
    var g = LCG(s: 7)
    for v in g.array(20000, scale: 70000) + [1e-8, -3e-6, 6.1e-5, 65519, 65520, 1e30, 0.1, 1.0 / 3] {
        #expect(f32ToF16(v) == Float16(v).bitPattern, "f16 of \(v)")
        // bfloat16: the nearest of the two neighbours that keep the top 16 bits, ties to even.
        let b = f32ToBF16(v)
        let lo = Float(bitPattern: v.bitPattern & 0xFFFF_0000)
        let hi = Float(bitPattern: (v.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
        let got = bf16ToF32(b)
        let dl = abs(Double(v) - Double(lo)), dh = abs(Double(v) - Double(hi))
        let want = dl < dh ? lo : (dh < dl ? hi : ((lo.bitPattern >> 16) & 1 == 0 ? lo : hi))
        #expect(got.bitPattern == want.bitPattern, "bf16 of \(v)")
    }
}
