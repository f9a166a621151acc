// A decoder layer's parameters as named flat buffers (HF names relative to the layer), and
// which of them a distillation trains: all, only the norms and biases, or low-rank adapters
// (LoRA) on every projection, folded into the weights as W = W₀ + B·A.
import Foundation
import Tensors
import Transformer

public enum Trainable: Sendable, Equatable, CustomStringConvertible {
    case all
    case normsAndBiases
    case lora(rank: Int)

    public init(parse s: String) throws {
        switch s {
        case "all": self = .all
        case "norms", "norms-and-biases", "norms_and_biases": self = .normsAndBiases
        default:
            if s.hasPrefix("lora"), let r = Int(s.dropFirst(4).drop { $0 == ":" || $0 == "=" || $0 == "-" }), r > 0 { self = .lora(rank: r) }
            else { throw DistillationError("trainable must be all, norms or lora:R (R ≥ 1), not `\(s)`") }
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .normsAndBiases: return "norms"
        case .lora(let r): return "lora:\(r)"
        }
    }
}

/// Reads and writes a layer's parameters by name.
public enum LayerParameters {
    /// (name, is a norm weight or a bias, shape, values) for every parameter of the layer.
    public static func list(_ l: DecoderLayer) -> [(name: String, normOrBias: Bool, shape: [Int], data: [Float])] {
        var out: [(String, Bool, [Int], [Float])] = []
        func norm(_ n: Norm, _ name: String) {
            out.append((name + ".weight", true, n.weight.shape, n.weight.data))
            if let b = n.bias { out.append((name + ".bias", true, b.shape, b.data)) }
        }
        func linear(_ x: Linear, _ name: String) {
            out.append((name + ".weight", false, x.weight.shape, x.weight.data))
            if let b = x.bias { out.append((name + ".bias", true, b.shape, b.data)) }
        }
        norm(l.attentionNorm, "input_layernorm")
        linear(l.q, "self_attn.q_proj"); linear(l.k, "self_attn.k_proj"); linear(l.v, "self_attn.v_proj"); linear(l.o, "self_attn.o_proj")
        if let n = l.qNorm { norm(n, "self_attn.q_norm") }
        if let n = l.kNorm { norm(n, "self_attn.k_norm") }
        norm(l.mlpNorm, "post_attention_layernorm")
        if let g = l.gate { linear(g, "mlp.gate_proj") }
        linear(l.up, "mlp.up_proj"); linear(l.down, "mlp.down_proj")
        return out
    }

    /// Sets the named parameter's values (same count).
    public static func set(_ l: inout DecoderLayer, _ name: String, _ v: [Float]) {
        func put(_ t: inout Tensor) { precondition(t.data.count == v.count, "\(name): size"); t.data = v }
        switch name {
        case "input_layernorm.weight": put(&l.attentionNorm.weight)
        case "input_layernorm.bias": put(&l.attentionNorm.bias!)
        case "post_attention_layernorm.weight": put(&l.mlpNorm.weight)
        case "post_attention_layernorm.bias": put(&l.mlpNorm.bias!)
        case "self_attn.q_proj.weight": put(&l.q.weight)
        case "self_attn.q_proj.bias": put(&l.q.bias!)
        case "self_attn.k_proj.weight": put(&l.k.weight)
        case "self_attn.k_proj.bias": put(&l.k.bias!)
        case "self_attn.v_proj.weight": put(&l.v.weight)
        case "self_attn.v_proj.bias": put(&l.v.bias!)
        case "self_attn.o_proj.weight": put(&l.o.weight)
        case "self_attn.o_proj.bias": put(&l.o.bias!)
        case "self_attn.q_norm.weight": put(&l.qNorm!.weight)
        case "self_attn.k_norm.weight": put(&l.kNorm!.weight)
        case "mlp.gate_proj.weight": put(&l.gate!.weight)
        case "mlp.gate_proj.bias": put(&l.gate!.bias!)
        case "mlp.up_proj.weight": put(&l.up.weight)
        case "mlp.up_proj.bias": put(&l.up.bias!)
        case "mlp.down_proj.weight": put(&l.down.weight)
        case "mlp.down_proj.bias": put(&l.down.bias!)
        default: preconditionFailure("unknown layer parameter \(name)")
        }
    }

    public static func get(_ l: DecoderLayer, _ name: String) -> [Float] {
        list(l).first { $0.name == name }!.data
    }
}

/// The trainable buffers of one layer under a `Trainable` choice, with the map from the
/// layer's gradients to theirs and back to the layer's weights.
struct TrainableSet {
    let choice: Trainable
    /// Names of the layer parameters trained directly (all / norms-and-biases).
    var direct: [String] = []
    /// LoRA: for each adapted weight, its frozen W₀ [out, in] and the A [r, in], B [out, r] indices.
    var adapters: [(name: String, out: Int, inF: Int, w0: [Float], a: Int, b: Int)] = []
    var buffers: [[Float]] = []
    let scale: Float

    init(_ layer: DecoderLayer, _ choice: Trainable, seed: UInt64) {
        self.choice = choice
        scale = 1
        let params = LayerParameters.list(layer)
        switch choice {
        case .all:
            direct = params.map(\.name)
            buffers = params.map(\.data)
        case .normsAndBiases:
            let sel = params.filter(\.normOrBias)
            direct = sel.map(\.name)
            buffers = sel.map(\.data)
        case .lora(let r):
            var rng = SplitMix64(seed: seed)
            for p in params where !p.normOrBias && p.shape.count == 2 {
                let out = p.shape[0], inF = p.shape[1]
                // PEFT's initialisation: A uniform in ±1/√in (kaiming-uniform with a = √5), B = 0,
                // so the adapted layer starts equal to the original.
                let bound = 1 / Float(inF).squareRoot()
                let a = (0..<(r * inF)).map { _ in (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
                adapters.append((p.name, out, inF, p.data, buffers.count, buffers.count + 1))
                buffers.append(a)
                buffers.append([Float](repeating: 0, count: out * r))
            }
        }
    }

    var rank: Int { if case .lora(let r) = choice { return r } else { return 0 } }

    /// Writes the current buffers into the layer (LoRA: W = W₀ + B·A).
    func apply(to layer: inout DecoderLayer) {
        for (k, name) in direct.enumerated() { LayerParameters.set(&layer, name, buffers[k]) }
        let r = rank
        for ad in adapters {
            var w = ad.w0
            buffers[ad.b].withUnsafeBufferPointer { bp in
                buffers[ad.a].withUnsafeBufferPointer { ap in
                    w.withUnsafeMutableBufferPointer { wp in
                        BLAS.gemm(transA: false, transB: false, m: ad.out, n: ad.inF, k: r, alpha: scale,
                                  a: bp.baseAddress!, lda: r, b: ap.baseAddress!, ldb: ad.inF, beta: 1, c: wp.baseAddress!, ldc: ad.inF)
                    }
                }
            }
            LayerParameters.set(&layer, ad.name, w)
        }
    }

    /// The gradients of the trainable buffers from the layer's parameter gradients
    /// (LoRA: ∂B = ∂W·Aᵀ, ∂A = Bᵀ·∂W).
    func gradients(from g: DecoderLayer) -> [[Float]] {
        var out = [[Float]](repeating: [], count: buffers.count)
        for (k, name) in direct.enumerated() { out[k] = LayerParameters.get(g, name) }
        let r = rank
        for ad in adapters {
            let dW = LayerParameters.get(g, ad.name)
            var dA = [Float](repeating: 0, count: r * ad.inF), dB = [Float](repeating: 0, count: ad.out * r)
            dW.withUnsafeBufferPointer { dw in
                buffers[ad.a].withUnsafeBufferPointer { ap in
                    dB.withUnsafeMutableBufferPointer { db in
                        BLAS.gemm(transA: false, transB: true, m: ad.out, n: r, k: ad.inF, alpha: scale,
                                  a: dw.baseAddress!, lda: ad.inF, b: ap.baseAddress!, ldb: ad.inF, beta: 0, c: db.baseAddress!, ldc: r)
                    }
                }
                buffers[ad.b].withUnsafeBufferPointer { bp in
                    dA.withUnsafeMutableBufferPointer { da in
                        BLAS.gemm(transA: true, transB: false, m: r, n: ad.inF, k: ad.out, alpha: scale,
                                  a: bp.baseAddress!, lda: r, b: dw.baseAddress!, ldb: ad.inF, beta: 0, c: da.baseAddress!, ldc: ad.inF)
                    }
                }
            }
            out[ad.a] = dA
            out[ad.b] = dB
        }
        return out
    }
}
