// Saving a model as an HF checkpoint folder that transformers loads: model.safetensors,
// config.json (current layer count, the merge tree as `come_merge_tree`), and the
// tokenizer files — copied from an HF source, or written from a GGUF's vocabulary.
import Checkpoints
import Foundation
import Tensors

public enum ModelSaver {
    public static func save(_ m: Model, to folder: URL, dtype: StorageDType = .f32,
                            extraConfig: [String: JSONValue] = [:]) throws {
        var extra = extraConfig
        extra["come_merge_tree"] = m.mergeTree.json
        try CheckpointWriter.save(config: m.currentConfig, tensors: m.namedTensors().map { ($0.name, $0.tensor) },
                                  to: folder, dtype: dtype, extraConfig: extra, files: m.auxiliaryFiles)
    }

    /// The files an HF folder carries beside its weights that a saved copy should keep.
    static let carriedFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                               "generation_config.json", "chat_template.jinja", "tokenizer.model", "vocab.json", "merges.txt"]

    static func filesBeside(_ folder: URL) -> [String: Data] {
        var out: [String: Data] = [:]
        for name in carriedFiles {
            if let d = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) { out[name] = d }
        }
        return out
    }

    /// tokenizer.json + tokenizer_config.json for a GGUF byte-level BPE vocabulary (llama.cpp
    /// `gpt2` models), in the layout transformers writes when it converts such a GGUF.
    static func tokenizerFiles(_ t: GGUFTokenizerMetadata) -> [String: Data] {
        guard t.model == "gpt2", let merges = t.merges else { return [:] }
        let types = t.tokenTypes ?? Array(repeating: 1, count: t.tokens.count)
        var added: [JSONValue] = []
        var vocab: [String: JSONValue] = [:]
        for (i, tok) in t.tokens.enumerated() {
            vocab[tok] = .int(i)
            if types[i] == 3 || types[i] == 4 {
                added.append(.object(["id": .int(i), "content": .string(tok), "single_word": .bool(false), "lstrip": .bool(false),
                                      "rstrip": .bool(false), "normalized": .bool(types[i] == 4), "special": .bool(types[i] == 3)]))
            }
        }
        let byteLevel: JSONValue = .object(["type": .string("ByteLevel"), "add_prefix_space": .bool(false),
                                            "trim_offsets": .bool(true), "use_regex": .bool(true)])
        var pre = byteLevel
        if let p = t.pre, ["llama-bpe", "llama3", "qwen2"].contains(p) {
            let regex = p == "qwen2"
                ? "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
                : "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
            pre = .object(["type": .string("Sequence"), "pretokenizers": .array([
                .object(["type": .string("Split"), "pattern": .object(["Regex": .string(regex)]), "behavior": .string("Isolated"), "invert": .bool(false)]),
                .object(["type": .string("ByteLevel"), "add_prefix_space": .bool(false), "trim_offsets": .bool(true), "use_regex": .bool(false)]),
            ])])
        }
        let json: JSONValue = .object([
            "version": .string("1.0"), "truncation": .null, "padding": .null,
            "added_tokens": .array(added), "normalizer": .null, "pre_tokenizer": pre,
            "post_processor": byteLevel, "decoder": byteLevel,
            "model": .object(["type": .string("BPE"), "dropout": .null, "unk_token": .null, "continuing_subword_prefix": .null,
                              "end_of_word_suffix": .null, "fuse_unk": .bool(false), "byte_fallback": .bool(false),
                              "ignore_merges": .bool(t.pre == "llama-bpe" || t.pre == "llama3"),
                              "vocab": .object(vocab), "merges": .array(merges.map { .string($0) })]),
        ])
        var config: [String: JSONValue] = ["tokenizer_class": .string("PreTrainedTokenizerFast"),
                                           "clean_up_tokenization_spaces": .bool(false), "model_max_length": .int(8192)]
        func name(_ id: Int?) -> JSONValue { id.flatMap { $0 < t.tokens.count ? JSONValue.string(t.tokens[$0]) : nil } ?? .null }
        config["bos_token"] = name(t.bosTokenId)
        config["eos_token"] = name(t.eosTokenId)
        config["pad_token"] = name(t.paddingTokenId)
        config["unk_token"] = name(t.unknownTokenId)
        if let c = t.chatTemplate { config["chat_template"] = .string(c) }
        return ["tokenizer.json": Data(json.serialized(pretty: false).utf8),
                "tokenizer_config.json": Data(JSONValue.object(config).serialized().utf8)]
    }
}
