// Model size: parameter counts by component (embeddings, each decoder layer's attention,
// MLP and norms, the final norm), the bytes they take at fp32 and bf16, and the ratio a
// compressed model reaches against its reference (the papers' "parameters removed").
import Transformer

public struct ParameterReport: Sendable, Equatable {
    /// One decoder layer. q_norm / k_norm (Qwen3) count as attention, as they sit inside
    /// HF's `self_attn` module; `norms` are input_layernorm and post_attention_layernorm.
    public struct Layer: Sendable, Equatable {
        /// q, k, v, o weights and biases, q_norm, k_norm
        public var attention: Int
        /// gate, up, down (OPT: fc1, fc2) weights and biases
        public var mlp: Int
        public var norms: Int
        public var total: Int { attention + mlp + norms }
        public init(attention: Int, mlp: Int, norms: Int) { self.attention = attention; self.mlp = mlp; self.norms = norms }
    }

    /// embed_tokens [vocab, hidden]
    public var inputEmbedding: Int
    /// OPT's learned position table; 0 otherwise.
    public var positionEmbedding: Int
    /// lm_head [vocab, hidden]; 0 when tied to the input embedding (it is then not stored twice).
    public var lmHead: Int
    public var tied: Bool
    public var layers: [Layer]
    public var finalNorm: Int

    public init(_ m: Model) {
        inputEmbedding = m.embedTokens.count
        positionEmbedding = m.embedPositions?.count ?? 0
        lmHead = m.lmHead?.count ?? 0
        tied = m.lmHead == nil
        func count(_ l: Linear) -> Int { l.weight.count + (l.bias?.count ?? 0) }
        func count(_ n: Norm?) -> Int { (n?.weight.count ?? 0) + (n?.bias?.count ?? 0) }
        layers = m.layers.map { l in
            Layer(attention: count(l.q) + count(l.k) + count(l.v) + count(l.o) + count(l.qNorm) + count(l.kNorm),
                  mlp: (l.gate.map(count) ?? 0) + count(l.up) + count(l.down),
                  norms: count(l.attentionNorm) + count(l.mlpNorm))
        }
        finalNorm = count(m.finalNorm)
    }

    /// Input embedding, position table and an untied LM head.
    public var embeddings: Int { inputEmbedding + positionEmbedding + lmHead }
    /// The decoder layers and the final norm: what layer removal and merging change.
    public var nonEmbedding: Int { layers.reduce(0) { $0 + $1.total } + finalNorm }
    public var total: Int { embeddings + nonEmbedding }
    public var fp32Bytes: Int { total * 4 }
    public var bf16Bytes: Int { total * 2 }

    /// How much smaller this model is than `reference`.
    public func compressionRatio(against reference: ParameterReport) -> CompressionRatio {
        CompressionRatio(reference: reference.total, compressed: total)
    }
}

public struct CompressionRatio: Sendable, Equatable {
    public var reference: Int
    public var compressed: Int
    /// reference parameters / compressed parameters (> 1 when smaller)
    public var ratio: Double { Double(reference) / Double(max(compressed, 1)) }
    /// The fraction of the reference's parameters removed: 1 − compressed / reference.
    public var removed: Double { 1 - Double(compressed) / Double(max(reference, 1)) }
    public var removedParameters: Int { reference - compressed }
}
