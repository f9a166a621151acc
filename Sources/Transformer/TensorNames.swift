// The canonical HF tensor names of each architecture, used by the loader, the writer and
// (later) the pruner when it renumbers layers. OPT lives under `model.decoder.`.
import Checkpoints

public struct TensorNames: Sendable {
    public let architecture: Architecture

    public init(_ a: Architecture) { architecture = a }

    var isOPT: Bool { architecture == .opt }
    var root: String { isOPT ? "model.decoder." : "model." }

    public var embedTokens: String { root + "embed_tokens.weight" }
    public var embedPositions: String { "model.decoder.embed_positions.weight" }
    public var finalNorm: String { isOPT ? "model.decoder.final_layer_norm" : "model.norm" }
    public var lmHead: String { "lm_head.weight" }

    public func layer(_ i: Int) -> String { root + "layers.\(i)." }
    public func attentionNorm(_ i: Int) -> String { layer(i) + (isOPT ? "self_attn_layer_norm" : "input_layernorm") }
    public func mlpNorm(_ i: Int) -> String { layer(i) + (isOPT ? "final_layer_norm" : "post_attention_layernorm") }
    public func q(_ i: Int) -> String { layer(i) + "self_attn.q_proj" }
    public func k(_ i: Int) -> String { layer(i) + "self_attn.k_proj" }
    public func v(_ i: Int) -> String { layer(i) + "self_attn.v_proj" }
    public func o(_ i: Int) -> String { layer(i) + (isOPT ? "self_attn.out_proj" : "self_attn.o_proj") }
    public func qNorm(_ i: Int) -> String { layer(i) + "self_attn.q_norm" }
    public func kNorm(_ i: Int) -> String { layer(i) + "self_attn.k_norm" }
    public func gate(_ i: Int) -> String { layer(i) + "mlp.gate_proj" }
    public func up(_ i: Int) -> String { layer(i) + (isOPT ? "fc1" : "mlp.up_proj") }
    public func down(_ i: Int) -> String { layer(i) + (isOPT ? "fc2" : "mlp.down_proj") }
}
