// The encode/decode oracles of ../shared/fixtures/tokenizers/cases/<name>.jsonl (fixtures
// README section 2.1), computed with the tokenizers library, and a helper that says where
// two id lists first differ.
import Foundation
import TestSupport
import Tokenizers

struct FixtureCase {
    let name: String
    let text: String
    let ids: [Int]
    let idsWithSpecial: [Int]
    let tokens: [String]
    let decode: String
    let decodeWithSpecial: String
    let decodeSkipSpecial: String
}

enum FixtureCases {
    static let tokenizerNames = ["tiny_bytelevel", "llama2_style", "llama3_style", "qwen2_style", "smollm2"]

    static func folder(_ name: String) -> URL { Fixtures.url("fixtures/tokenizers/\(name)") }

    static func load(_ name: String) throws -> [FixtureCase] {
        let url = Fixtures.url("fixtures/tokenizers/cases/\(name).jsonl")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            guard let o = object as? [String: Any],
                  let name = o["name"] as? String, let text = o["text"] as? String,
                  let ids = o["ids"] as? [Int], let withSpecial = o["ids_with_special"] as? [Int],
                  let tokens = o["tokens"] as? [String], let decode = o["decode"] as? String,
                  let decodeWithSpecial = o["decode_with_special"] as? String,
                  let decodeSkipSpecial = o["decode_skip_special"] as? String
            else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: url.path]) }
            return FixtureCase(name: name, text: text, ids: ids, idsWithSpecial: withSpecial, tokens: tokens,
                               decode: decode, decodeWithSpecial: decodeWithSpecial, decodeSkipSpecial: decodeSkipSpecial)
        }
    }

    /// nil when equal, else the first differing position with a little context.
    static func mismatch(_ got: [Int], _ want: [Int], _ tokenizer: Tokenizer) -> String? {
        if got == want { return nil }
        var k = 0
        while k < got.count, k < want.count, got[k] == want[k] { k += 1 }
        func show(_ ids: [Int]) -> String {
            let window = ids[min(k, ids.count)..<min(k + 5, ids.count)]
            return window.map { "\($0) \(tokenizer.token($0).map { "\"\($0)\"" } ?? "?")" }.joined(separator: ", ")
        }
        return "first difference at position \(k) (got \(got.count) ids, want \(want.count)): got [\(show(got))], want [\(show(want))]"
    }
}
