// Every case of the five fixture tokenizers (tiny_bytelevel, llama2_style, llama3_style,
// qwen2_style, smollm2): ids with and without special tokens, token strings, and the three
// decodes must equal what the tokenizers library produced.
import Foundation
import Testing
import TestSupport
import Tokenizers

@Suite struct FixtureCaseTests {
    @Test(arguments: FixtureCases.tokenizerNames)
    func encodeAndDecodeMatchTheLibrary(_ name: String) throws {
        let tokenizer = try Tokenizer.load(FixtureCases.folder(name))
        let cases = try FixtureCases.load(name)
        #expect(cases.count == 73)
        for c in cases {
            let ids = tokenizer.encode(c.text, addSpecialTokens: false)
            if let m = FixtureCases.mismatch(ids, c.ids, tokenizer) { Issue.record("\(name)/\(c.name) ids: \(m)") }
            let withSpecial = tokenizer.encode(c.text, addSpecialTokens: true)
            if let m = FixtureCases.mismatch(withSpecial, c.idsWithSpecial, tokenizer) {
                Issue.record("\(name)/\(c.name) ids_with_special: \(m)")
            }
            let tokens = c.ids.map { tokenizer.token($0) ?? "<no token \($0)>" }
            #expect(tokens == c.tokens, "\(name)/\(c.name): token strings")
            #expect(tokenizer.decode(c.ids) == c.decode, "\(name)/\(c.name): decode")
            #expect(tokenizer.decode(c.idsWithSpecial) == c.decodeWithSpecial, "\(name)/\(c.name): decode_with_special")
            #expect(tokenizer.decode(c.idsWithSpecial, skipSpecialTokens: true) == c.decodeSkipSpecial,
                    "\(name)/\(c.name): decode_skip_special")
        }
    }

    /// bos/eos/pad come from tokenizer_config.json; addsBOS from the post-processor.
    @Test func specialTokensFollowTheConfig() throws {
        let tiny = try Tokenizer.load(FixtureCases.folder("tiny_bytelevel"))
        #expect(tiny.bosId == 1 && tiny.eosId == 2 && tiny.padId == 0 && !tiny.addsBOS)
        #expect(tiny.vocabSize == 512 && tiny.specialIds == [0, 1, 2])

        let llama2 = try Tokenizer.load(FixtureCases.folder("llama2_style").appendingPathComponent("tokenizer.json"))
        #expect(llama2.bosId == 1 && llama2.eosId == 2 && llama2.padId == nil && llama2.addsBOS)
        #expect(llama2.vocabSize == 600)

        let llama3 = try Tokenizer.load(FixtureCases.folder("llama3_style"))
        #expect(llama3.bosId == 590 && llama3.eosId == 599 && llama3.addsBOS)

        let qwen2 = try Tokenizer.load(FixtureCases.folder("qwen2_style"))
        #expect(qwen2.bosId == nil && qwen2.eosId == 597 && qwen2.padId == 595 && !qwen2.addsBOS)
        #expect(qwen2.specialIds == [595, 596, 597])
        #expect(qwen2.id("<tool_call>") == 598 && qwen2.token(599) == "</tool_call>")

        let smol = try Tokenizer.load(FixtureCases.folder("smollm2"))
        #expect(smol.vocabSize == 49152 && smol.specialIds.count == 17)
        #expect(smol.bosId == 1 && smol.eosId == 2 && smol.padId == 2 && !smol.addsBOS)
        #expect(smol.summary.hasPrefix("byte-level BPE, vocab 49152, 17 special tokens"))
        #expect(llama2.summary.hasPrefix("SentencePiece BPE, vocab 600, 3 special tokens"))
    }

    /// The word cache is shared; encoding from many threads at once must not change ids.
    @Test func concurrentEncodingAgrees() throws {
        let tokenizer = try Tokenizer.load(FixtureCases.folder("smollm2"))
        let cases = try FixtureCases.load("smollm2")
        let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: cases.count * 4)
        results.initialize(repeating: [])
        defer { _ = results.deinitialize(); results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: cases.count * 4) { k in
            results[k] = tokenizer.encode(cases[k % cases.count].text, addSpecialTokens: false)
        }
        for k in 0..<(cases.count * 4) { #expect(results[k] == cases[k % cases.count].ids, "\(cases[k % cases.count].name)") }
    }
}
