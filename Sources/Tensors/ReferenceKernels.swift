// Plain, obviously-correct versions of the kernels in Kernels.swift, accumulating in
// Double. Tests compare the fast kernels against these; nothing on a hot path calls them.
import Foundation

public enum ReferenceKernels {
    public static func rmsNorm(_ x: [Float], dim: Int, weight: [Float], eps: Float) -> [Float] {
        var out = x
        for r in 0..<(x.count / dim) {
            var ss = 0.0
            for j in 0..<dim { ss += Double(x[r * dim + j]) * Double(x[r * dim + j]) }
            let inv = 1 / (ss / Double(dim) + Double(eps)).squareRoot()
            for j in 0..<dim { out[r * dim + j] = Float(Double(weight[j]) * Double(x[r * dim + j]) * inv) }
        }
        return out
    }

    public static func layerNorm(_ x: [Float], dim: Int, weight: [Float], bias: [Float], eps: Float) -> [Float] {
        var out = x
        for r in 0..<(x.count / dim) {
            let row = (0..<dim).map { Double(x[r * dim + $0]) }
            let mean = row.reduce(0, +) / Double(dim)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
            for j in 0..<dim {
                out[r * dim + j] = Float((row[j] - mean) / (v + Double(eps)).squareRoot() * Double(weight[j]) + Double(bias[j]))
            }
        }
        return out
    }

    /// HF's formula literally: emb = concat(freqs, freqs); x·cos(emb) + rotate_half(x)·sin(emb).
    public static func rope(_ x: [Float], tokens: Int, heads: Int, headDim: Int, positions: [Int], invFreq: [Float]) -> [Float] {
        var out = x
        let half = headDim / 2
        for t in 0..<tokens {
            let emb = (0..<headDim).map { Double(positions[t]) * Double(invFreq[$0 % half]) }
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                let v = (0..<headDim).map { Double(x[base + $0]) }
                let rot = (0..<headDim).map { $0 < half ? -v[$0 + half] : v[$0 - half] }
                for i in 0..<headDim { out[base + i] = Float(v[i] * cos(emb[i]) + rot[i] * sin(emb[i])) }
            }
        }
        return out
    }

    public static func softmax(_ x: [Float], cols: Int) -> [Float] {
        var out = x
        for r in 0..<(x.count / cols) {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<cols { out[r * cols + j] = Float(e[j] / s) }
        }
        return out
    }

    public static func silu(_ x: [Float]) -> [Float] { x.map { Float(Double($0) / (1 + exp(-Double($0)))) } }
    public static func relu(_ x: [Float]) -> [Float] { x.map { max($0, 0) } }
    public static func gelu(_ x: [Float], tanhApproximation: Bool = false) -> [Float] {
        x.map { v in
            let d = Double(v)
            if tanhApproximation { return Float(0.5 * d * (1 + tanh(0.7978845608028654 * (d + 0.044715 * d * d * d)))) }
            return Float(0.5 * d * (1 + erf(d / 2.0.squareRoot())))
        }
    }
}
