// The elementwise and row kernels a transformer needs: RMSNorm, LayerNorm, RoPE (HF's
// rotate_half layout; llama3 frequency scaling), softmax, SiLU, GELU, ReLU. Each fast
// kernel has a plain twin in ReferenceKernels.swift and a test comparing the two.
import Foundation

public enum Kernels {
    /// out[r] = weight ⊙ x[r] / sqrt(mean(x[r]²) + eps), rows of length `dim`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                               eps: Float, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * dim, yr = out + r * dim
            var ss0: Float = 0, ss1: Float = 0, ss2: Float = 0, ss3: Float = 0
            var i = 0
            while i + 4 <= dim {
                ss0 += xr[i] * xr[i]; ss1 += xr[i + 1] * xr[i + 1]
                ss2 += xr[i + 2] * xr[i + 2]; ss3 += xr[i + 3] * xr[i + 3]
                i += 4
            }
            while i < dim { ss0 += xr[i] * xr[i]; i += 1 }
            let inv = 1 / (((ss0 + ss1) + (ss2 + ss3)) / Float(dim) + eps).squareRoot()
            for j in 0..<dim { yr[j] = weight[j] * (xr[j] * inv) }
        }
    }

    /// out[r] = (x[r] − mean) / sqrt(var + eps) ⊙ weight + bias (biased variance, as torch).
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>, eps: Float, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * dim, yr = out + r * dim
            var s: Float = 0
            for j in 0..<dim { s += xr[j] }
            let mean = s / Float(dim)
            var v: Float = 0
            for j in 0..<dim { let d = xr[j] - mean; v += d * d }
            let inv = 1 / (v / Float(dim) + eps).squareRoot()
            for j in 0..<dim { yr[j] = (xr[j] - mean) * inv * weight[j] + bias[j] }
        }
    }

    /// Rotates `heads` vectors of length `headDim` per token in place, HF's rotate_half
    /// layout: dims i and i + headDim/2 form a pair. `cos`/`sin` hold headDim/2 values per
    /// token (freqs = pos · inv_freq; the duplicated half of HF's emb is implied).
    /// x: [tokens, heads, headDim] with row stride `stride` between tokens.
    /// `inverse` rotates by −θ instead (RoPE's backward, KernelGrads.rope).
    public static func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, stride: Int,
                            cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool = false) {
        let half = headDim / 2
        let sign: Float = inverse ? -1 : 1
        for t in 0..<tokens {
            let c = cos + t * half, s = sin + t * half
            for h in 0..<heads {
                let v = x + t * stride + h * headDim
                for i in 0..<half {
                    let a = v[i], b = v[i + half], si = sign * s[i]
                    v[i] = a * c[i] - b * si
                    v[i + half] = b * c[i] + a * si
                }
            }
        }
    }

    /// Numerically stable softmax of each row in place.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let v = x + r * cols
            var m = -Float.infinity
            for j in 0..<cols { m = max(m, v[j]) }
            if m == -Float.infinity {
                for j in 0..<cols { v[j] = 0 }
                continue
            }
            var s: Float = 0
            for j in 0..<cols { let e = expf(v[j] - m); v[j] = e; s += e }
            let inv = 1 / s
            for j in 0..<cols { v[j] *= inv }
        }
    }

    /// gate ← silu(gate) ⊙ up (the SwiGLU product), n values.
    public static func siluMul(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    public static func silu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { let g = x[i]; x[i] = g / (1 + expf(-g)) }
    }

    public static func relu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n where x[i] < 0 { x[i] = 0 }
    }

    /// GELU: exact (erf) form, or the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count n: Int, tanhApproximation: Bool = false) {
        if tanhApproximation {
            let k: Float = 0.7978845608028654
            for i in 0..<n { let v = x[i]; x[i] = 0.5 * v * (1 + tanhf(k * (v + 0.044715 * v * v * v))) }
        } else {
            for i in 0..<n { let v = x[i]; x[i] = 0.5 * v * (1 + erff(v * 0.7071067811865476)) }
        }
    }
}

/// RoPE inverse frequencies as transformers computes them (`rope_type` default and llama3).
public struct RoPEScaling: Sendable, Equatable {
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalMaxPositionEmbeddings: Double
    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Double) {
        self.factor = factor; self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor; self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }
}

public enum RoPE {
    /// inv_freq[i] = θ^(−2i/d), i < d/2, computed in fp32 as torch does
    /// (`1 / base ** (arange(0, d, 2).float() / d)`), then llama3-scaled if asked.
    public static func inverseFrequencies(headDim d: Int, theta: Double, llama3: RoPEScaling? = nil) -> [Float] {
        var inv = (0..<(d / 2)).map { i -> Float in
            let e = Float(2 * i) / Float(d)
            return 1 / powf(Float(theta), e)
        }
        if let s = llama3 {
            let lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor
            let highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor
            inv = inv.map { f -> Float in
                let wavelen = 2 * Double.pi / Double(f)
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return Float(Double(f) / s.factor) }
                let smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
                return Float((1 - smooth) * Double(f) / s.factor + smooth * Double(f))
            }
        }
        return inv
    }

    /// cos/sin tables [positions.count, d/2] for the given positions (fp32, as HF).
    public static func tables(invFreq: [Float], positions: [Int]) -> (cos: [Float], sin: [Float]) {
        let half = invFreq.count
        var c = [Float](repeating: 0, count: positions.count * half)
        var s = c
        for (t, p) in positions.enumerated() {
            for i in 0..<half {
                let f = Float(p) * invFreq[i]
                c[t * half + i] = cosf(f)
                s[t * half + i] = sinf(f)
            }
        }
        return (c, s)
    }
}
