// A config.json equivalent built from a GGUF's `{arch}.*` and `tokenizer.ggml.*` metadata
// (llama.cpp's llm_kv names), handed to ModelConfig so both formats share one parser and
// one set of defaults. Supports general.architecture llama, qwen2 and qwen3.
import Foundation

extension GGUFFile {
    /// GGUF architecture → HF class.
    public static let supportedArchitectures: [(gguf: String, hf: Architecture)] = [
        ("llama", .llama), ("qwen2", .qwen2), ("qwen3", .qwen3),
    ]

    /// The config.json-like object for this file's model.
    public func configObject() throws -> [String: JSONValue] {
        guard let arch = try string("general.architecture") else {
            throw CheckpointError(url, field: "general.architecture", "missing")
        }
        guard let hf = GGUFFile.supportedArchitectures.first(where: { $0.gguf == arch })?.hf else {
            throw CheckpointError(url, field: "general.architecture",
                                  "architecture `\(arch)` is not supported; supported: \(GGUFFile.supportedArchitectures.map(\.gguf).joined(separator: ", "))")
        }
        func key(_ k: String) -> String { "\(arch).\(k)" }
        func required(_ k: String) throws -> Int {
            guard let v = try int(key(k)) else { throw CheckpointError(url, field: key(k), "missing") }
            return v
        }
        let hidden = try required("embedding_length")
        let heads = try required("attention.head_count")
        let kvHeads = try int(key("attention.head_count_kv")) ?? heads
        var o: [String: JSONValue] = [
            "architectures": .array([.string(hf.rawValue)]),
            "model_type": .string(hf.modelType),
            "hidden_size": .int(hidden),
            "intermediate_size": .int(try required("feed_forward_length")),
            "num_hidden_layers": .int(try required("block_count")),
            "num_attention_heads": .int(heads),
            "num_key_value_heads": .int(kvHeads),
            "max_position_embeddings": .int(try int(key("context_length")) ?? 2048),
            "hidden_act": .string("silu"),
            "dtype": .string("float32"),
        ]
        if let eps = try float(key("attention.layer_norm_rms_epsilon")) {
            // The float32 value widened, e.g. 9.999999747378752e-06 for 1e-5, as transformers reads it.
            o["rms_norm_eps"] = .double(eps)
        }
        o["rope_theta"] = .double(try float(key("rope.freq_base")) ?? 10000)

        let keyLength = try int(key("attention.key_length"))
        let valueLength = try int(key("attention.value_length"))
        let headDim = keyLength ?? hidden / heads
        if let v = valueLength, v != headDim {
            throw CheckpointError(url, field: key("attention.value_length"), "\(v) ≠ key_length \(headDim) is not supported")
        }
        o["head_dim"] = .int(headDim)
        if let rd = try int(key("rope.dimension_count")), rd != headDim {
            throw CheckpointError(url, field: key("rope.dimension_count"), "partial RoPE (\(rd) of \(headDim) dims) is not supported")
        }
        if let st = try string(key("rope.scaling.type")), st != "none" {
            throw CheckpointError(url, field: key("rope.scaling.type"), "RoPE scaling `\(st)` is not supported")
        }
        if info("rope_freqs.weight") != nil {
            throw CheckpointError(url, field: "rope_freqs.weight", "per-frequency RoPE factors (Llama 3 scaling in GGUF) are not supported")
        }

        let tokens = metadata["tokenizer.ggml.tokens"]?.arrayValue?.count
        guard let vocab = try int(key("vocab_size")) ?? tokens ?? info("token_embd.weight")?.ne.last else {
            throw CheckpointError(url, field: "tokenizer.ggml.tokens", "missing: cannot tell the vocabulary size")
        }
        o["vocab_size"] = .int(vocab)
        o["tie_word_embeddings"] = .bool(info("output.weight") == nil)
        // Biases are not declared in GGUF metadata; the tensors themselves say.
        if hf == .llama {
            o["attention_bias"] = .bool(info("blk.0.attn_q.bias") != nil)
            o["mlp_bias"] = .bool(info("blk.0.ffn_gate.bias") != nil)
        }
        if hf == .qwen3 { o["attention_bias"] = .bool(info("blk.0.attn_q.bias") != nil) }
        if let b = try int("tokenizer.ggml.bos_token_id") { o["bos_token_id"] = .int(b) }
        if let e = try int("tokenizer.ggml.eos_token_id") { o["eos_token_id"] = .int(e) }
        if let p = try int("tokenizer.ggml.padding_token_id") { o["pad_token_id"] = .int(p) }
        return o
    }

    public func modelConfig() throws -> ModelConfig {
        try ModelConfig(object: configObject(), file: url.path)
    }
}
