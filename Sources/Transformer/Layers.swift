// The parts of a decoder layer: linear maps in HF's [out, in] layout, RMSNorm/LayerNorm,
// and the layer itself (attention + MLP), for Llama, Mistral, Qwen2, Qwen3 and OPT.
import Tensors

public struct Linear: Sendable {
    /// [outFeatures, inFeatures]
    public var weight: Tensor
    /// [outFeatures]
    public var bias: Tensor?

    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "Linear weight must be 2-D, got \(weight.shape)")
        if let b = bias { precondition(b.count == weight.shape[0], "bias \(b.shape) for weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }

    /// y[rows, out] = x[rows, in] · Wᵀ + b
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        if let b = bias {
            b.data.withUnsafeBufferPointer { bp in
                for r in 0..<rows { (y + r * outFeatures).update(from: bp.baseAddress!, count: outFeatures) }
            }
        }
        weight.data.withUnsafeBufferPointer { wp in
            BLAS.linear(x, rows: rows, inFeatures: inFeatures, weight: wp.baseAddress!, outFeatures: outFeatures,
                        into: y, beta: bias == nil ? 0 : 1)
        }
    }

    public func apply(_ x: [Float], rows: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) } }
        return y
    }
}

public struct Norm: Sendable {
    public enum Kind: Sendable { case rms, layer }
    public var kind: Kind
    /// [dim]
    public var weight: Tensor
    /// [dim], LayerNorm only
    public var bias: Tensor?
    public var eps: Float

    public init(kind: Kind, weight: Tensor, bias: Tensor? = nil, eps: Float) {
        self.kind = kind; self.weight = weight; self.bias = bias; self.eps = eps
    }

    public var dim: Int { weight.count }

    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let d = dim
        weight.data.withUnsafeBufferPointer { wp in
            switch kind {
            case .rms:
                parallelRows(rows) { r0, n in
                    Kernels.rmsNorm(x + r0 * d, rows: n, dim: d, weight: wp.baseAddress!, eps: eps, into: y + r0 * d)
                }
            case .layer:
                bias!.data.withUnsafeBufferPointer { bp in
                    parallelRows(rows) { r0, n in
                        Kernels.layerNorm(x + r0 * d, rows: n, dim: d, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                          eps: eps, into: y + r0 * d)
                    }
                }
            }
        }
    }

    public func apply(_ x: [Float], rows: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) } }
        return y
    }
}

/// Splits `rows` into contiguous chunks over the worker threads when it is worth it.
@inline(__always)
func parallelRows(_ rows: Int, minRowsPerChunk: Int = 64, _ body: (Int, Int) -> Void) {
    let chunks = min(Threads.count, max(1, rows / minRowsPerChunk))
    if chunks <= 1 { body(0, rows); return }
    Threads.parallelFor(chunks) { c in
        let r0 = c * rows / chunks, r1 = (c + 1) * rows / chunks
        body(r0, r1 - r0)
    }
}

public enum Activation: String, Sendable {
    case silu, relu, gelu, geluTanh
    public init(hfName: String) {
        switch hfName {
        case "relu": self = .relu
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh": self = .geluTanh
        default: self = .silu
        }
    }
}

/// One decoder layer. Head counts and MLP width are read off the weights, so a merged
/// layer may differ from its neighbours.
public struct DecoderLayer: Sendable {
    /// Before attention: `input_layernorm` (OPT: `self_attn_layer_norm`).
    public var attentionNorm: Norm
    /// Before the MLP: `post_attention_layernorm` (OPT: the per-layer `final_layer_norm`).
    public var mlpNorm: Norm
    /// [heads * headDim, hidden]
    public var q: Linear
    /// [kvHeads * headDim, hidden]
    public var k: Linear
    /// [kvHeads * headDim, hidden]
    public var v: Linear
    /// [hidden, heads * headDim]
    public var o: Linear
    /// Qwen3: RMSNorm over each head of q and k, weight [headDim].
    public var qNorm: Norm?
    public var kNorm: Norm?
    /// [intermediate, hidden]; nil for OPT (no gate).
    public var gate: Linear?
    /// [intermediate, hidden] (OPT: fc1)
    public var up: Linear
    /// [hidden, intermediate] (OPT: fc2)
    public var down: Linear
    public var headDim: Int
    /// Keys a query sees including itself; nil = full causal attention.
    public var slidingWindow: Int?

    public init(attentionNorm: Norm, mlpNorm: Norm, q: Linear, k: Linear, v: Linear, o: Linear,
                qNorm: Norm?, kNorm: Norm?, gate: Linear?, up: Linear, down: Linear, headDim: Int, slidingWindow: Int?) {
        self.attentionNorm = attentionNorm; self.mlpNorm = mlpNorm
        self.q = q; self.k = k; self.v = v; self.o = o
        self.qNorm = qNorm; self.kNorm = kNorm
        self.gate = gate; self.up = up; self.down = down
        self.headDim = headDim; self.slidingWindow = slidingWindow
    }

    public var numHeads: Int { q.outFeatures / headDim }
    public var numKVHeads: Int { k.outFeatures / headDim }
    public var intermediateSize: Int { up.outFeatures }
    public var hiddenSize: Int { q.inFeatures }

    public var parameterCount: Int {
        var n = attentionNorm.weight.count + (attentionNorm.bias?.count ?? 0) + mlpNorm.weight.count + (mlpNorm.bias?.count ?? 0)
        for l in [q, k, v, o, up, down] + (gate.map { [$0] } ?? []) { n += l.weight.count + (l.bias?.count ?? 0) }
        n += (qNorm?.weight.count ?? 0) + (kNorm?.weight.count ?? 0)
        return n
    }
}
