// llama.cpp's tensor names ↔ Hugging Face's (llama.cpp's gguf-py tensor_mapping.py for the
// Llama family), and the Q/K row permutation llama.cpp's converter applies to llama-arch
// attn_q / attn_k for its adjacent-pair RoPE (fixtures README §4), undone on load.

public enum GGUFNames {
    /// Per-layer parts: `blk.N.<gguf>.{weight,bias}` ↔ `model.layers.N.<hf>.{weight,bias}`.
    static let layerParts: [(gguf: String, hf: String)] = [
        ("attn_norm", "input_layernorm"),
        ("ffn_norm", "post_attention_layernorm"),
        ("attn_q", "self_attn.q_proj"),
        ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"),
        ("attn_output", "self_attn.o_proj"),
        ("attn_q_norm", "self_attn.q_norm"),
        ("attn_k_norm", "self_attn.k_norm"),
        ("ffn_gate", "mlp.gate_proj"),
        ("ffn_up", "mlp.up_proj"),
        ("ffn_down", "mlp.down_proj"),
    ]
    static let globalParts: [(gguf: String, hf: String)] = [
        ("token_embd", "model.embed_tokens"),
        ("output_norm", "model.norm"),
        ("output", "lm_head"),
    ]

    /// The HF name of a GGUF tensor, or nil for a name outside the table.
    public static func hfName(_ gguf: String) -> String? {
        let parts = gguf.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let kind = parts.last, kind == "weight" || kind == "bias" else { return nil }
        if parts.count == 2 {
            return globalParts.first { $0.gguf == parts[0] }.map { "\($0.hf).\(kind)" }
        }
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1] else {
            return nil
        }
        return layerParts.first { $0.gguf == parts[2] }.map { "model.layers.\(layer).\($0.hf).\(kind)" }
    }

    /// The GGUF name of an HF tensor (the inverse of `hfName`).
    public static func ggufName(_ hf: String) -> String? {
        guard let dot = hf.lastIndex(of: ".") else { return nil }
        let stem = String(hf[..<dot]), kind = String(hf[hf.index(after: dot)...])
        guard kind == "weight" || kind == "bias" else { return nil }
        if let g = globalParts.first(where: { $0.hf == stem }) { return "\(g.gguf).\(kind)" }
        let p = stem.split(separator: ".", maxSplits: 3).map(String.init)
        guard p.count == 4, p[0] == "model", p[1] == "layers", let layer = Int(p[2]) else { return nil }
        return layerParts.first { $0.hf == p[3] }.map { "blk.\(layer).\($0.gguf).\(kind)" }
    }

    /// Whether llama.cpp permuted this tensor's rows, and over how many heads: attn_q over
    /// head_count, attn_k over head_count_kv, only for general.architecture "llama" (qwen2 and
    /// qwen3 use NeoX-style RoPE, which needs no permutation).
    public static func permutedHeads(_ gguf: String, architecture: String, heads: Int, kvHeads: Int) -> Int? {
        guard architecture == "llama" else { return nil }
        if gguf.hasSuffix(".attn_q.weight") || gguf.hasSuffix(".attn_q.bias") { return heads }
        if gguf.hasSuffix(".attn_k.weight") || gguf.hasSuffix(".attn_k.bias") { return kvHeads }
        return nil
    }

    /// The HF row of GGUF row `g` of a permuted tensor with `headDim` rows per head: GGUF row
    /// h·hd + 2i + j holds HF row h·hd + j·hd/2 + i (i < hd/2, j ∈ {0, 1}).
    @inline(__always)
    public static func hfRow(ofGGUFRow g: Int, headDim: Int) -> Int {
        let h = g / headDim, r = g % headDim
        return h * headDim + (r & 1) * (headDim / 2) + (r >> 1)
    }

    /// The converter's permutation itself: the GGUF row holding HF row `f`.
    @inline(__always)
    public static func ggufRow(ofHFRow f: Int, headDim: Int) -> Int {
        let h = f / headDim, r = f % headDim, half = headDim / 2
        return h * headDim + 2 * (r % half) + r / half
    }
}
