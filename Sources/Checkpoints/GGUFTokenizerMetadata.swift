// The tokenizer a GGUF file carries (llama.cpp's `tokenizer.ggml.*` keys), gathered into one
// typed value for the tokenizer builder.

public struct GGUFTokenizerMetadata: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE), "llama" (SentencePiece), …
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name, e.g. "smollm", "qwen2", "llama-bpe".
    public var pre: String?
    public var tokens: [String]
    public var scores: [Float]?
    /// llama_token_type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int]?
    /// "left right" pairs, highest priority first.
    public var merges: [String]?
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var unknownTokenId: Int?
    public var paddingTokenId: Int?
    public var addBosToken: Bool?
    public var addEosToken: Bool?
    public var chatTemplate: String?
}

extension GGUFFile {
    public func tokenizerMetadata() throws -> GGUFTokenizerMetadata {
        guard let model = try string("tokenizer.ggml.model") else {
            throw CheckpointError(url, field: "tokenizer.ggml.model", "missing: the file carries no tokenizer")
        }
        guard let tokens = try strings("tokenizer.ggml.tokens") else {
            throw CheckpointError(url, field: "tokenizer.ggml.tokens", "missing")
        }
        let m = GGUFTokenizerMetadata(
            model: model,
            pre: try string("tokenizer.ggml.pre"),
            tokens: tokens,
            scores: try floats("tokenizer.ggml.scores"),
            tokenTypes: try ints("tokenizer.ggml.token_type"),
            merges: try strings("tokenizer.ggml.merges"),
            bosTokenId: try int("tokenizer.ggml.bos_token_id"),
            eosTokenId: try int("tokenizer.ggml.eos_token_id"),
            unknownTokenId: try int("tokenizer.ggml.unknown_token_id"),
            paddingTokenId: try int("tokenizer.ggml.padding_token_id"),
            addBosToken: try bool("tokenizer.ggml.add_bos_token"),
            addEosToken: try bool("tokenizer.ggml.add_eos_token"),
            chatTemplate: try string("tokenizer.chat_template"))
        for (key, count) in [("tokenizer.ggml.scores", m.scores?.count), ("tokenizer.ggml.token_type", m.tokenTypes?.count)] {
            if let c = count, c != tokens.count {
                throw CheckpointError(url, field: key, "has \(c) entries for \(tokens.count) tokens")
            }
        }
        return m
    }
}
