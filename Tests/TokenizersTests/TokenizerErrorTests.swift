// Bad tokenizer files give a TokenizerError naming the file and the field, never a crash.
import Foundation
import Testing
import TestSupport
import Tokenizers

@Suite struct TokenizerErrorTests {
    /// A minimal valid byte-level tokenizer.json with `change` applied to its text.
    static let valid = """
        {"version": "1.0", "added_tokens": [{"id": 3, "content": "<s>", "special": true}],
         "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
         "post_processor": null, "decoder": {"type": "ByteLevel"},
         "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": ["a b"]}}
        """

    func load(_ text: String, config: String? = nil) throws -> Tokenizer {
        let dir = try Fixtures.temporaryDirectory("come-tokenizer")
        try Data(text.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        if let config { try Data(config.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json")) }
        return try Tokenizer.load(dir)
    }

    func error(_ text: String, config: String? = nil) -> TokenizerError? {
        #expect(throws: TokenizerError.self) { _ = try load(text, config: config) }
    }

    @Test func theMinimalFileWorks() throws {
        let t = try load(Self.valid)
        #expect(t.encode("ab<s>ba") == [2, 3, 1, 0])
        #expect(t.decode([2, 3, 1, 0], skipSpecialTokens: true) == "abba")
        #expect(t.vocabSize == 4)
    }

    @Test func missingFile() throws {
        let dir = try Fixtures.temporaryDirectory("come-tokenizer")
        let e = #expect(throws: TokenizerError.self) { _ = try Tokenizer.load(dir.appendingPathComponent("nothing.json")) }
        #expect(e?.file.hasSuffix("nothing.json") == true && e?.message == "no such file")
        let e2 = #expect(throws: TokenizerError.self) { _ = try Tokenizer.load(dir) }
        #expect(e2?.file.hasSuffix("tokenizer.json") == true)
    }

    @Test func malformedJSON() {
        let e = error("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,}}}")
        #expect(e?.file.hasSuffix("tokenizer.json") == true)
        #expect(e?.description.contains("line 2") == true)
        #expect(error("")?.message.contains("malformed JSON") == true)
        #expect(error("[1, 2")?.message.contains("malformed JSON") == true)
    }

    @Test func unknownModelType() {
        let e = error(Self.valid.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\""))
        #expect(e?.field == "model.type" && e?.message.contains("WordPiece") == true)
    }

    @Test func missingFields() {
        #expect(error("{\"version\": \"1.0\"}")?.field == "model")
        #expect(error(Self.valid.replacingOccurrences(of: "\"vocab\"", with: "\"vocabulary\""))?.field == "model.vocab")
        let e = error(Self.valid.replacingOccurrences(of: "\"content\": \"<s>\", ", with: ""))
        #expect(e?.field == "added_tokens[0].content" && e?.message == "missing field")
    }

    @Test func wrongTypesAndValues() {
        #expect(error(Self.valid.replacingOccurrences(of: "\"b\": 1", with: "\"b\": \"one\""))?.field == "model.vocab.b")
        let merge = error(Self.valid.replacingOccurrences(of: "[\"a b\"]", with: "[\"a c\"]"))
        #expect(merge?.field == "model.merges[0]" && merge?.message.contains("\"c\"") == true)
        #expect(error(Self.valid.replacingOccurrences(of: "[\"a b\"]", with: "[\"ab\"]"))?.field == "model.merges[0]")
        let pre = error(Self.valid.replacingOccurrences(of: "\"type\": \"ByteLevel\", \"add", with: "\"type\": \"Bert\", \"add"))
        #expect(pre?.field == "pre_tokenizer.type" && pre?.message.contains("Bert") == true)
        let flag = error(Self.valid.replacingOccurrences(of: "\"use_regex\": true", with: "\"use_regex\": 1"))
        #expect(flag?.field == "pre_tokenizer.use_regex")
        let regex = error(Self.valid.replacingOccurrences(
            of: "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}",
            with: "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}, \"behavior\": \"Isolated\"}"))
        #expect(regex?.field == "pre_tokenizer.pattern" && regex?.message.contains("(unclosed") == true)
    }

    @Test func badConfigBeside() {
        let e = error(Self.valid, config: "{\"bos_token\": 7}")
        #expect(e?.file.hasSuffix("tokenizer_config.json") == true && e?.field == "bos_token")
        #expect(error(Self.valid, config: "not json")?.file.hasSuffix("tokenizer_config.json") == true)
    }

    @Test func configObjectsAndNulls() throws {
        let t = try load(Self.valid, config: "{\"bos_token\": {\"content\": \"<s>\", \"__type\": \"AddedToken\"}, \"pad_token\": null, \"eos_token\": \"<absent>\"}")
        #expect(t.bosId == 3 && t.padId == nil && t.eosId == nil)
    }
}
