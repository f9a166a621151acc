// The hand-written GPT-2 / Llama-3 / Qwen2 scanners against NSRegularExpression running the
// same regexes, on the fixture corpus, every fixture text and a seeded stream of awkward
// characters (the regexes given to ICU have \s rewritten as Oniguruma defines it).
import Foundation
import Testing
import TestSupport
@testable import Tokenizers

@Suite struct SplitPatternTests {
    static func words(_ pattern: SplitPattern, _ text: String) -> [String] {
        var out: [String] = []
        var storage = text
        storage.withUTF8 { bytes in
            pattern.forEachMatch(text, bytes) { s, e in
                out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self))
            }
        }
        return out
    }

    static func texts() throws -> [String] {
        var texts = [try String(contentsOf: Fixtures.url("fixtures/tokenizers/corpus.txt"), encoding: .utf8)]
        texts += try FixtureCases.load("tiny_bytelevel").map { $0.text }
        // Seeded random strings over characters at the edges of the classes.
        let alphabet: [String] = ["a", "Z", "é", "ſ", "ß", "中", "𝔘", "1", "٣", "½", "Ⅻ", " ", "  ", "\t", "\n", "\r",
                                  "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{1680}", "\u{2003}", "\u{2028}",
                                  "\u{3000}", "\u{200B}", "\u{301}", "\u{FEFF}", "'", "'s", "'S", "'ll", "'LL", "'Re",
                                  "'ſ", "!", "...", "-", "_", "😀", "\u{0}", "<", "|"]
        var state: UInt64 = 0x9E3779B97F4A7C15
        for _ in 0..<300 {
            var s = ""
            for _ in 0..<40 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                s += alphabet[Int(state >> 33) % alphabet.count]
            }
            texts.append(s)
        }
        return texts
    }

    @Test(arguments: [SplitPattern.gpt2, .llama3, .qwen2].map { $0.source })
    func scannersAgreeWithARegexEngine(_ source: String) throws {
        let fast = try SplitPattern.regex(source)
        if case .regex = fast { Issue.record("no scanner for \(source)"); return }
        let slow = SplitPattern.regex(try SplitPattern.compileOniguruma(source), source: source)
        for text in try Self.texts() {
            let a = Self.words(fast, text), b = Self.words(slow, text)
            guard a != b else { continue }
            let k = zip(a, b).prefix { $0 == $1 }.count
            Issue.record("words differ at \(k): scanner \(a[k...].prefix(3).map { Array($0.unicodeScalars) }) vs regex \(b[k...].prefix(3).map { Array($0.unicodeScalars) })")
        }
    }

    @Test func theFallbackUsesOnigurumasWhitespace() throws {
        // U+000B and U+0085 are \s to Oniguruma, not to ICU; an escaped backslash stays one.
        let p = try SplitPattern.regex(#"\s+|\\s"#)
        #expect(Self.words(p, "a\u{0B}\u{85} b\\sc") == ["\u{0B}\u{85} ", "\\s"])
    }

    @Test func unknownRegexesFallBackAndBadOnesAreErrors() throws {
        guard case .regex = try SplitPattern.regex(#"\d+"#) else { Issue.record("expected the NSRegularExpression fallback"); return }
        #expect(Self.words(try SplitPattern.regex(#"\p{N}+"#), "ab 12 c345") == ["12", "345"])
        #expect(throws: (any Error).self) { _ = try SplitPattern.regex("(unclosed") }
    }

    @Test func splitBehaviours() {
        let marked: [(start: Int, end: Int, isMatch: Bool)] = [(0, 2, false), (2, 3, true), (3, 4, true), (4, 6, false)]
        #expect(PreTokenizer.combine(marked, .removed).map { [$0.0, $0.1] } == [[0, 2], [4, 6]])
        #expect(PreTokenizer.combine(marked, .isolated).map { [$0.0, $0.1] } == [[0, 2], [2, 3], [3, 4], [4, 6]])
        #expect(PreTokenizer.combine(marked, .contiguous).map { [$0.0, $0.1] } == [[0, 2], [2, 4], [4, 6]])
        #expect(PreTokenizer.combine(marked, .mergedWithPrevious).map { [$0.0, $0.1] } == [[0, 3], [3, 4], [4, 6]])
        #expect(PreTokenizer.combine(marked, .mergedWithNext).map { [$0.0, $0.1] } == [[0, 2], [2, 3], [3, 6]])
    }
}
