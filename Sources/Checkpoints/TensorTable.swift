// The canonical tensor names and shapes of each supported architecture, derived from a
// ModelConfig (transformers' modeling_llama / _mistral / _qwen2 / _qwen3 / _opt parameter
// names). Loaders check files against it, writers check what they are asked to save.

public struct TensorSpec: Sendable, Equatable {
    public let name: String
    /// Row-major; linear weights are [out_features, in_features].
    public let shape: [Int]
    /// May be absent (lm_head.weight of a tied model, which reuses the embedding).
    public let optional: Bool

    public init(_ name: String, _ shape: [Int], optional: Bool = false) {
        self.name = name
        self.shape = shape
        self.optional = optional
    }
}

extension ModelConfig {
    /// Every weight of the model, in the order HF's state dict lists them.
    public var tensorSpecs: [TensorSpec] {
        let H = hiddenSize, I = intermediateSize, V = vocabSize
        var s: [TensorSpec] = []
        if architecture == .opt {
            let p = "model.decoder"
            s.append(TensorSpec("\(p).embed_tokens.weight", [V, H]))
            // OPT's learned positions are offset by 2 (a fairseq legacy), hence +2 rows.
            s.append(TensorSpec("\(p).embed_positions.weight", [maxPositionEmbeddings + 2, H]))
            for l in 0..<numLayers {
                let q = "\(p).layers.\(l)"
                for proj in ["k_proj", "v_proj", "q_proj", "out_proj"] {
                    s.append(TensorSpec("\(q).self_attn.\(proj).weight", [H, H]))
                    if attentionBias { s.append(TensorSpec("\(q).self_attn.\(proj).bias", [H])) }
                }
                s.append(TensorSpec("\(q).self_attn_layer_norm.weight", [H]))
                s.append(TensorSpec("\(q).self_attn_layer_norm.bias", [H]))
                s.append(TensorSpec("\(q).fc1.weight", [I, H]))
                if mlpBias { s.append(TensorSpec("\(q).fc1.bias", [I])) }
                s.append(TensorSpec("\(q).fc2.weight", [H, I]))
                if mlpBias { s.append(TensorSpec("\(q).fc2.bias", [H])) }
                s.append(TensorSpec("\(q).final_layer_norm.weight", [H]))
                s.append(TensorSpec("\(q).final_layer_norm.bias", [H]))
            }
            s.append(TensorSpec("\(p).final_layer_norm.weight", [H]))
            s.append(TensorSpec("\(p).final_layer_norm.bias", [H]))
            s.append(TensorSpec("lm_head.weight", [V, H], optional: tieWordEmbeddings))
            return s
        }
        s.append(TensorSpec("model.embed_tokens.weight", [V, H]))
        for l in 0..<numLayers {
            let q = "model.layers.\(l)"
            s.append(TensorSpec("\(q).input_layernorm.weight", [H]))
            s.append(TensorSpec("\(q).self_attn.q_proj.weight", [qDim, H]))           // [nh·hd, H]
            if attentionBias { s.append(TensorSpec("\(q).self_attn.q_proj.bias", [qDim])) }
            s.append(TensorSpec("\(q).self_attn.k_proj.weight", [kvDim, H]))          // [nkv·hd, H]
            if attentionBias { s.append(TensorSpec("\(q).self_attn.k_proj.bias", [kvDim])) }
            s.append(TensorSpec("\(q).self_attn.v_proj.weight", [kvDim, H]))          // [nkv·hd, H]
            if attentionBias { s.append(TensorSpec("\(q).self_attn.v_proj.bias", [kvDim])) }
            s.append(TensorSpec("\(q).self_attn.o_proj.weight", [H, qDim]))           // [H, nh·hd]
            if outputBias { s.append(TensorSpec("\(q).self_attn.o_proj.bias", [H])) }
            if hasQKNorm {
                s.append(TensorSpec("\(q).self_attn.q_norm.weight", [headDim]))       // per head
                s.append(TensorSpec("\(q).self_attn.k_norm.weight", [headDim]))
            }
            s.append(TensorSpec("\(q).post_attention_layernorm.weight", [H]))
            s.append(TensorSpec("\(q).mlp.gate_proj.weight", [I, H]))
            if mlpBias { s.append(TensorSpec("\(q).mlp.gate_proj.bias", [I])) }
            s.append(TensorSpec("\(q).mlp.up_proj.weight", [I, H]))
            if mlpBias { s.append(TensorSpec("\(q).mlp.up_proj.bias", [I])) }
            s.append(TensorSpec("\(q).mlp.down_proj.weight", [H, I]))
            if mlpBias { s.append(TensorSpec("\(q).mlp.down_proj.bias", [H])) }
        }
        s.append(TensorSpec("model.norm.weight", [H]))
        s.append(TensorSpec("lm_head.weight", [V, H], optional: tieWordEmbeddings))
        return s
    }

    /// Buffers some checkpoints carry that are recomputed, not learned; loaders drop them.
    public static func isIgnorableTensor(_ name: String) -> Bool {
        name.hasSuffix(".rotary_emb.inv_freq")
    }

    /// Checks a checkpoint's tensor shapes against `tensorSpecs`: every required tensor
    /// present with its declared shape, nothing undeclared. The error names the first
    /// offending tensor and counts the rest.
    public func checkTensors(_ shapes: [String: [Int]], file: String) throws {
        var problems: [(String, String)] = []
        let specs = tensorSpecs
        var declared = Set<String>()
        for spec in specs {
            declared.insert(spec.name)
            guard let shape = shapes[spec.name] else {
                if !spec.optional { problems.append((spec.name, "missing (\(architecture.rawValue) declares shape \(spec.shape))")) }
                continue
            }
            if shape != spec.shape {
                problems.append((spec.name, "shape \(shape) but the config declares \(spec.shape)"))
            }
        }
        for name in shapes.keys.sorted() where !declared.contains(name) {
            problems.append((name, "unexpected tensor: not a \(architecture.rawValue) weight for this config"))
        }
        guard let first = problems.first else { return }
        let more = problems.count > 1 ? " (and \(problems.count - 1) more problem\(problems.count > 2 ? "s" : ""), e.g. `\(problems[1].0)`: \(problems[1].1))" : ""
        throw CheckpointError(file: file, field: first.0, first.1 + more)
    }
}
