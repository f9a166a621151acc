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
    /// Visits every parameter of the layer in HF order: its name, whether it is a norm
    /// weight or a bias, and the tensor itself.
    static func visit(_ l: inout DecoderLayer, _ body: (String, Bool, inout Tensor) -> Void) {
        func norm(_ n: inout Norm, _ name: String) {
            body(name + ".weight", true, &n.weight)
            if n.bias != nil { body(name + ".bias", true, &n.bias!) }
        }
        func linear(_ x: inout Linear, _ name: String) {
            body(name + ".weight", false, &x.weight)
            if x.bias != nil { body(name + ".bias", true, &x.bias!) }
        }
        norm(&l.attentionNorm, "input_layernorm")
        linear(&l.q, "self_attn.q_proj"); linear(&l.k, "self_attn.k_proj"); linear(&l.v, "self_attn.v_proj"); linear(&l.o, "self_attn.o_proj")
        if l.qNorm != nil { norm(&l.qNorm!, "self_attn.q_norm") }
        if l.kNorm != nil { norm(&l.kNorm!, "self_attn.k_norm") }
        norm(&l.mlpNorm, "post_attention_layernorm")
        if l.gate != nil { linear(&l.gate!, "mlp.gate_proj") }
        linear(&l.up, "mlp.up_proj"); linear(&l.down, "mlp.down_proj")
    }

    /// (name, is a norm weight or a bias, shape, values) for every parameter of the layer.
    public static func list(_ l: DecoderLayer) -> [(name: String, normOrBias: Bool, shape: [Int], data: [Float])] {
        var out: [(name: String, normOrBias: Bool, shape: [Int], data: [Float])] = []
        var copy = l
        visit(&copy) { name, nb, t in out.append((name, nb, t.shape, t.data)) }
        return out
    }

    /// Sets the named parameter's values (same count).
    public static func set(_ l: inout DecoderLayer, _ name: String, _ v: [Float]) {
        var found = false
        visit(&l) { n, _, t in
            guard n == name else { return }
            precondition(t.data.count == v.count, "\(name): size")
            t.data = v
            found = true
        }
        precondition(found, "unknown layer parameter \(name)")
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

    init(_ layer: DecoderLayer, _ choice: Trainable, seed: UInt64) {
        self.choice = choice
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
                        BLAS.gemm(transA: false, transB: false, m: ad.out, n: ad.inF, k: r,
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
        let byName = Dictionary(uniqueKeysWithValues: LayerParameters.list(g).map { ($0.name, $0.data) })
        for (k, name) in direct.enumerated() { out[k] = byName[name]! }
        let r = rank
        for ad in adapters {
            let dW = byName[ad.name]!
            var dA = [Float](repeating: 0, count: r * ad.inF), dB = [Float](repeating: 0, count: ad.out * r)
            dW.withUnsafeBufferPointer { dw in
                buffers[ad.a].withUnsafeBufferPointer { ap in
                    dB.withUnsafeMutableBufferPointer { db in
                        BLAS.gemm(transA: false, transB: true, m: ad.out, n: r, k: ad.inF,
                                  a: dw.baseAddress!, lda: ad.inF, b: ap.baseAddress!, ldb: ad.inF, beta: 0, c: db.baseAddress!, ldc: r)
                    }
                }
                buffers[ad.b].withUnsafeBufferPointer { bp in
                    dA.withUnsafeMutableBufferPointer { da in
                        BLAS.gemm(transA: true, transB: false, m: r, n: ad.inF, k: ad.out,
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
