// Reverse-mode twins of the kernels in Kernels.swift: given the forward inputs and ∂L/∂out,
// they return ∂L/∂in and accumulate ∂L/∂weight. Each is checked against central finite
// differences of a float64 forward in Tests/TensorsTests/KernelGradTests.swift.
import Foundation

public enum KernelGrads {
    /// RMSNorm y = w ⊙ x·r, r = (mean(x²) + eps)^−½, rows of length `dim`:
    /// dx = r·(w⊙dy) − x·r³/dim · Σ(w⊙dy⊙x); dw += Σ_rows dy ⊙ x·r.
    /// `dx` is overwritten, or added to when `accumulate`; `dWeight` (dim values) is added to.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
                               dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                               dWeight: UnsafeMutablePointer<Float>?) {
        for r in 0..<rows {
            let xr = x + r * dim, gr = dy + r * dim, dr = dx + r * dim
            var ss: Float = 0, dot: Float = 0
            for j in 0..<dim { ss += xr[j] * xr[j]; dot += weight[j] * gr[j] * xr[j] }
            let inv = 1 / (ss / Float(dim) + eps).squareRoot()
            let c = dot * inv * inv * inv / Float(dim)
            if accumulate {
                for j in 0..<dim { dr[j] += inv * weight[j] * gr[j] - xr[j] * c }
            } else {
                for j in 0..<dim { dr[j] = inv * weight[j] * gr[j] - xr[j] * c }
            }
            if let dw = dWeight { for j in 0..<dim { dw[j] += gr[j] * xr[j] * inv } }
        }
    }

    /// LayerNorm y = x̂ ⊙ w + b, x̂ = (x − μ)·r, r = (var + eps)^−½ (biased variance):
    /// with g = dy ⊙ w, dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)); dw += Σ dy ⊙ x̂; db += Σ dy.
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
                                 dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                                 dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?) {
        let n = Float(dim)
        for r in 0..<rows {
            let xr = x + r * dim, gr = dy + r * dim, dr = dx + r * dim
            var s: Float = 0
            for j in 0..<dim { s += xr[j] }
            let mean = s / n
            var v: Float = 0
            for j in 0..<dim { let d = xr[j] - mean; v += d * d }
            let inv = 1 / (v / n + eps).squareRoot()
            var sg: Float = 0, sgx: Float = 0
            for j in 0..<dim {
                let g = gr[j] * weight[j], xh = (xr[j] - mean) * inv
                sg += g; sgx += g * xh
            }
            let mg = sg / n, mgx = sgx / n
            for j in 0..<dim {
                let xh = (xr[j] - mean) * inv
                let d = inv * (gr[j] * weight[j] - mg - xh * mgx)
                if accumulate { dr[j] += d } else { dr[j] = d }
                dWeight?[j] += gr[j] * xh
                dBias?[j] += gr[j]
            }
        }
    }

    /// RoPE is a rotation per (i, i + hd/2) pair, so its backward is the inverse rotation,
    /// applied in place to ∂L/∂out (same layout and tables as Kernels.rope).
    public static func rope(_ dy: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, stride: Int,
                            cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        Kernels.rope(dy, tokens: tokens, heads: heads, headDim: headDim, stride: stride, cos: cos, sin: sin, inverse: true)
    }

    /// Softmax rows: given p = softmax(x) and dp, writes dx = p ⊙ (dp − Σ dp ⊙ p) into `dp`.
    public static func softmax(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let pr = p + r * cols, dr = dp + r * cols
            var s: Float = 0
            for j in 0..<cols { s += pr[j] * dr[j] }
            for j in 0..<cols { dr[j] = pr[j] * (dr[j] - s) }
        }
    }

    /// SwiGLU a = silu(g) ⊙ u: dg = da ⊙ u ⊙ σ(g)(1 + g(1 − σ(g))), du = da ⊙ silu(g).
    /// Overwrites `dGate` and `dUp`.
    public static func siluMul(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, da: UnsafePointer<Float>, count n: Int,
                               dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            let g = gate[i], s = 1 / (1 + expf(-g))
            dUp[i] = da[i] * g * s
            dGate[i] = da[i] * up[i] * s * (1 + g * (1 - s))
        }
    }

    /// a = act(x): dx = da ⊙ act′(x), written into `da` in place (x is the pre-activation).
    public static func silu(_ x: UnsafePointer<Float>, _ da: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { let g = x[i], s = 1 / (1 + expf(-g)); da[i] *= s * (1 + g * (1 - s)) }
    }

    /// ReLU′ is taken as 0 at 0, as torch does.
    public static func relu(_ x: UnsafePointer<Float>, _ da: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n where x[i] <= 0 { da[i] = 0 }
    }

    public static func gelu(_ x: UnsafePointer<Float>, _ da: UnsafeMutablePointer<Float>, count n: Int, tanhApproximation: Bool = false) {
        if tanhApproximation {
            let k: Float = 0.7978845608028654
            for i in 0..<n {
                let v = x[i], t = tanhf(k * (v + 0.044715 * v * v * v))
                da[i] *= 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v)
            }
        } else {
            // d/dx x·Φ(x) = Φ(x) + x·φ(x)
            for i in 0..<n {
                let v = x[i]
                da[i] *= 0.5 * (1 + erff(v * 0.7071067811865476)) + v * 0.3989422804014327 * expf(-0.5 * v * v)
            }
        }
    }
}
