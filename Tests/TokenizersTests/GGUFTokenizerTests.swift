// The GGUF constructor, fed the SmolLM2 vocabulary, merges and special tokens as a GGUF holds
// them (tokens by id, merges as "a b", token type 3 for the specials), must give the same ids
// as the tokenizer.json that transformers built from that GGUF, on every fixture case; the
// other fixtures check the tokenizer.ggml.pre choices and the SentencePiece ("llama") path.
import Foundation
import Testing
import TestSupport
import Tokenizers

@Suite struct GGUFTokenizerTests {
    struct Vocabulary {
        var tokens: [String]
        var types: [Int]
        var merges: [String]
    }

    /// A tokenizer.json's vocabulary, merges and added tokens in GGUF form: tokens by id,
    /// merges as "a b", type 3 (control) for special added tokens, 4 (user-defined) for the
    /// other added tokens, 1 for the rest.
    static func ggufForm(_ name: String) throws -> Vocabulary {
        let url = FixtureCases.folder(name).appendingPathComponent("tokenizer.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any])
        let vocab = try #require(model["vocab"] as? [String: Int])
        let added = try #require(root["added_tokens"] as? [[String: Any]])
        let count = max(vocab.values.max() ?? 0, added.compactMap { $0["id"] as? Int }.max() ?? 0) + 1
        var tokens = [String?](repeating: nil, count: count)
        var types = [Int](repeating: 1, count: count)
        for (token, id) in vocab { tokens[id] = token }
        for t in added {
            let id = try #require(t["id"] as? Int)
            tokens[id] = try #require(t["content"] as? String)
            types[id] = t["special"] as? Bool == true ? 3 : 4
        }
        let merges: [String] = try #require(model["merges"] as? [Any]).map { m in
            if let pair = m as? [String] { return pair.joined(separator: " ") }
            return try #require(m as? String)
        }
        return Vocabulary(tokens: try tokens.map { try #require($0, "a gap in the vocabulary") }, types: types, merges: merges)
    }

    @Test func smolLM2FromGGUFArraysMatchesTokenizerJSON() throws {
        let v = try Self.ggufForm("smollm2")
        #expect(v.tokens.count == 49152 && v.merges.count == 48900)
        // Metadata values from fixtures/smollm2/gguf_metadata.json.
        let gguf = try Tokenizer.fromGGUF(model: "gpt2", pre: "smollm", tokens: v.tokens, scores: nil, tokenTypes: v.types,
                                          merges: v.merges, bosId: 1, eosId: 2, unkId: 0, padId: 2,
                                          addBOS: false, addEOS: nil)
        let json = try Tokenizer.load(FixtureCases.folder("smollm2"))
        #expect(gguf.vocabSize == json.vocabSize && gguf.specialIds == json.specialIds)
        #expect(gguf.bosId == 1 && gguf.eosId == 2 && gguf.padId == 2 && !gguf.addsBOS)
        for c in try FixtureCases.load("smollm2") {
            for special in [false, true] {
                let got = gguf.encode(c.text, addSpecialTokens: special)
                let want = special ? c.idsWithSpecial : c.ids
                if let m = FixtureCases.mismatch(got, want, gguf) { Issue.record("smollm2 (GGUF)/\(c.name) special=\(special): \(m)") }
                #expect(got == json.encode(c.text, addSpecialTokens: special), "\(c.name): GGUF and tokenizer.json differ")
            }
            #expect(gguf.decode(c.idsWithSpecial, skipSpecialTokens: true) == c.decodeSkipSpecial, "\(c.name): decode")
        }
    }

    /// The other byte-level fixtures through tokenizer.ggml.pre: each pre value must pick the
    /// regex (and for Llama-3 the whole-token rule, for Qwen2 the NFC step) of its tokenizer.json.
    @Test(arguments: [("tiny_bytelevel", "gpt2", nil), ("llama3_style", "llama-bpe", 590), ("qwen2_style", "qwen2", nil)] as [(String, String, Int?)])
    func byteLevelFromGGUFArraysMatchesFixtures(_ name: String, _ pre: String, _ bos: Int?) throws {
        let v = try Self.ggufForm(name)
        let gguf = try Tokenizer.fromGGUF(model: "gpt2", pre: pre, tokens: v.tokens, scores: nil, tokenTypes: v.types,
                                          merges: v.merges, bosId: bos, eosId: nil, unkId: nil, padId: nil,
                                          addBOS: bos != nil, addEOS: false)
        for c in try FixtureCases.load(name) {
            if let m = FixtureCases.mismatch(gguf.encode(c.text, addSpecialTokens: true), c.idsWithSpecial, gguf) {
                Issue.record("\(name) (GGUF, pre \(pre))/\(c.name): \(m)")
            }
            #expect(gguf.decode(c.idsWithSpecial, skipSpecialTokens: true) == c.decodeSkipSpecial, "\(name)/\(c.name): decode")
        }
    }

    /// A SentencePiece ("llama") GGUF holds the pieces, scores and types of the SentencePiece
    /// model it was converted from; llama2_style's tokenizer.model is that model, and its
    /// tokenizer.json is the legacy conversion, so both must tokenize alike.
    @Test func sentencePieceFromGGUFArraysMatchesLlama2Style() throws {
        let pieces = try SentencePieceModel.pieces(FixtureCases.folder("llama2_style").appendingPathComponent("tokenizer.model"))
        #expect(pieces.count == 600)
        let tokenizer = try Tokenizer.fromGGUF(model: "llama", pre: nil, tokens: pieces.map { $0.piece },
                                               scores: pieces.map { $0.score }, tokenTypes: pieces.map { $0.type },
                                               merges: nil, bosId: 1, eosId: 2, unkId: 0, padId: nil,
                                               addBOS: true, addEOS: false)
        let json = try Tokenizer.load(FixtureCases.folder("llama2_style"))
        #expect(tokenizer.addsBOS && tokenizer.summary.hasPrefix("SentencePiece BPE"))
        for c in try FixtureCases.load("llama2_style") {
            if let m = FixtureCases.mismatch(tokenizer.encode(c.text, addSpecialTokens: true), c.idsWithSpecial, tokenizer) {
                Issue.record("llama2_style (GGUF)/\(c.name): \(m)")
            }
            #expect(tokenizer.encode(c.text, addSpecialTokens: false) == json.encode(c.text, addSpecialTokens: false))
            #expect(tokenizer.decode(c.idsWithSpecial) == c.decodeWithSpecial, "\(c.name): decode")
        }
    }

    @Test func badGGUFMetadataIsReported() throws {
        let e1 = #expect(throws: TokenizerError.self) {
            _ = try Tokenizer.fromGGUF(model: "t5", pre: nil, tokens: ["a"], scores: nil, tokenTypes: nil, merges: [],
                                       bosId: nil, eosId: nil, unkId: nil, padId: nil, addBOS: nil, addEOS: nil)
        }
        #expect(e1?.field == "tokenizer.ggml.model" && e1?.description.contains("t5") == true)
        let e2 = #expect(throws: TokenizerError.self) {
            _ = try Tokenizer.fromGGUF(model: "gpt2", pre: nil, tokens: ["a", "b"], scores: nil, tokenTypes: nil,
                                       merges: ["a b"], bosId: nil, eosId: nil, unkId: nil, padId: nil, addBOS: nil, addEOS: nil)
        }
        #expect(e2?.field == "tokenizer.ggml.merges[0]" && e2?.message.contains("ab") == true)
        let e3 = #expect(throws: TokenizerError.self) {
            _ = try Tokenizer.fromGGUF(model: "gpt2", pre: nil, tokens: ["a"], scores: nil, tokenTypes: [1, 1],
                                       merges: [], bosId: 5, eosId: nil, unkId: nil, padId: nil, addBOS: nil, addEOS: nil)
        }
        #expect(e3?.field == "tokenizer.ggml.token_type")
    }
}

/// The pieces of a SentencePiece model file: ModelProto field 1 holds repeated SentencePiece
/// messages {1: piece, 2: score (float), 3: type}; the types number as llama.cpp's token types.
enum SentencePieceModel {
    struct Piece { var piece = ""; var score: Float = 0; var type = 1 }

    static func pieces(_ url: URL) throws -> [Piece] {
        let bytes = [UInt8](try Data(contentsOf: url))
        struct Truncated: Error {}
        func varint(_ b: ArraySlice<UInt8>, _ i: inout Int) throws -> Int {
            var value = 0, shift = 0
            while true {
                guard i < b.endIndex else { throw Truncated() }
                let x = b[i]; i += 1
                value |= Int(x & 0x7F) << shift
                shift += 7
                if x < 0x80 { return value }
            }
        }
        // Calls body(field, wireType, payload) for each field; varints and fixed32 are returned
        // through the payload's bytes.
        func fields(_ b: ArraySlice<UInt8>, _ body: (Int, Int, ArraySlice<UInt8>, Int) throws -> Void) throws {
            var i = b.startIndex
            while i < b.endIndex {
                let key = try varint(b, &i)
                switch key & 7 {
                case 0: let v = try varint(b, &i); try body(key >> 3, 0, [], v)
                case 1: i += 8
                case 2:
                    let n = try varint(b, &i)
                    guard i + n <= b.endIndex else { throw Truncated() }
                    try body(key >> 3, 2, b[i..<(i + n)], 0); i += n
                case 5:
                    guard i + 4 <= b.endIndex else { throw Truncated() }
                    try body(key >> 3, 5, b[i..<(i + 4)], 0); i += 4
                default: throw Truncated()
                }
            }
        }
        var result: [Piece] = []
        try fields(bytes[...]) { field, wire, payload, _ in
            guard field == 1, wire == 2 else { return }
            var p = Piece()
            try fields(payload) { f, w, data, v in
                switch (f, w) {
                case (1, 2): p.piece = String(decoding: data, as: UTF8.self)
                case (2, 5):
                    let raw = data.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
                    p.score = Float(bitPattern: raw)
                case (3, 0): p.type = v
                default: break
                }
            }
            result.append(p)
        }
        return result
    }
}
