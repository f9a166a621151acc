// The patterns a Split pre-tokenizer (and ByteLevel with use_regex) cuts text with. The three
// regexes real checkpoints use are matched by hand-written scanners that reproduce the
// leftmost-first, backtracking semantics of Oniguruma on these exact patterns:
//   GPT-2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama-3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2   the Llama-3 pattern with \p{N} in place of \p{N}{1,3}
// Any other regex goes through NSRegularExpression (ICU), slower.
import Foundation

enum SplitPattern {
    case gpt2
    case llama3
    case qwen2
    case literal(String)
    case regex(NSRegularExpression, source: String)

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The pattern for a regex source: a known one gets its scanner, anything else is compiled.
    static func regex(_ source: String) throws -> SplitPattern {
        switch source {
        case gpt2Source: return .gpt2
        case llama3Source: return .llama3
        case qwen2Source: return .qwen2
        default: return .regex(try compileOniguruma(source), source: source)
        }
    }

    /// Compiles a pattern written for Oniguruma (the engine of the tokenizers library) with
    /// ICU. The two differ in \s: ICU's is [\t\n\f\r\p{Z}], Oniguruma's the White_Space
    /// property, which adds U+000B and U+0085; \s and \S are rewritten as explicit sets (ICU
    /// accepts a set nested in a set, so this holds inside brackets too).
    static func compileOniguruma(_ source: String) throws -> NSRegularExpression {
        let space = #"\t\n\x{0B}\f\r\x{85}\p{Z}"#
        var out = ""
        var escaped = false
        for c in source.unicodeScalars {
            if escaped {
                switch c {
                case "s": out += "[" + space + "]"
                case "S": out += "[^" + space + "]"
                default: out += "\\" + String(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.unicodeScalars.append(c)
            }
        }
        if escaped { out += "\\" }
        return try NSRegularExpression(pattern: out)
    }

    var source: String {
        switch self {
        case .gpt2: return SplitPattern.gpt2Source
        case .llama3: return SplitPattern.llama3Source
        case .qwen2: return SplitPattern.qwen2Source
        case .literal(let s): return s
        case .regex(_, let s): return s
        }
    }

    /// Calls `body(start, end)` with the UTF-8 byte range of every match, left to right,
    /// non-overlapping, as the regex crate's find_iter does.
    /// `bytes` is the UTF-8 of `text`.
    func forEachMatch(_ text: String, _ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        switch self {
        case .gpt2, .llama3, .qwen2:
                CharacterClasses.bmp.withUnsafeBufferPointer { table in
                    let scanner = PatternScanner(bytes: bytes, table: table)
                    var i = 0
                    while i < bytes.count {
                        let end: Int
                        switch self {
                        case .gpt2: end = scanner.gpt2(i)
                        case .llama3: end = scanner.llama3(i, maxDigits: 3)
                        default: end = scanner.llama3(i, maxDigits: 1)
                        }
                        body(i, end)
                        i = end
                    }
                }
        case .literal(let needle):
            let n = Array(needle.utf8)
            guard !n.isEmpty else { return }
            var i = 0
            while i + n.count <= bytes.count {
                var k = 0
                while k < n.count, bytes[i + k] == n[k] { k += 1 }
                if k == n.count { body(i, i + n.count); i += n.count } else { i += 1 }
            }
        case .regex(let re, _):
            let utf16 = text.utf16
            // Matches come in order, so indices are advanced from the previous match rather
            // than from the start. (Range(NSRange, in:) is no use here: it refuses ranges that
            // split a Character, such as the \r of "\r\n".)
            var lastIndex = text.startIndex, lastUTF16 = 0, lastByte = 0
            for m in re.matches(in: text, range: NSRange(location: 0, length: utf16.count)) {
                guard m.range.location != NSNotFound, m.range.length > 0, m.range.location >= lastUTF16 else { continue }
                let lo = utf16.index(lastIndex, offsetBy: m.range.location - lastUTF16)
                let hi = utf16.index(lo, offsetBy: m.range.length)
                let start = lastByte + text.utf8.distance(from: lastIndex, to: lo)
                let end = start + text.utf8.distance(from: lo, to: hi)
                lastIndex = hi
                lastUTF16 = m.range.location + m.range.length
                lastByte = end
                body(start, end)
            }
        }
    }
}

/// Scanners for the known patterns. Each returns the end of the match that starts at `i`;
/// every position starts a match of these patterns (each character is a letter, a number,
/// whitespace or "other", and each class has an alternative), so matches tile the text.
struct PatternScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let table: UnsafeBufferPointer<UInt8>

    private static let L = CharacterClasses.letter, N = CharacterClasses.number, S = CharacterClasses.space

    @inline(__always) private func at(_ i: Int) -> (value: UInt32, length: Int, cls: UInt8) {
        let (v, l) = decodeScalar(bytes, i)
        return (v, l, CharacterClasses.of(v, table))
    }

    /// End of a run of characters of class `cls` (0 = "other": not letter, number or space).
    @inline(__always) private func run(_ i: Int, _ cls: UInt8, limit: Int = .max) -> Int {
        var j = i, count = 0
        while j < bytes.count, count < limit {
            let c = at(j)
            if c.cls != cls { break }
            j += c.length
            count += 1
        }
        return j
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` after the apostrophe at `i - 1`; case-insensitive for the
    /// Llama-3 family, where Oniguruma's case folding also lets U+017F (long s) match s.
    private func contraction(_ i: Int, caseInsensitive: Bool) -> Int? {
        guard i < bytes.count else { return nil }
        func lower(_ k: Int) -> (UInt32, Int)? {
            guard k < bytes.count else { return nil }
            let (v, l) = decodeScalar(bytes, k)
            guard caseInsensitive else { return (v, l) }
            if v >= 0x41 && v <= 0x5A { return (v + 0x20, l) }
            if v == 0x17F { return (0x73, l) }
            return (v, l)
        }
        guard let (a, la) = lower(i) else { return nil }
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return i + la                  // s t m d
        case 0x72, 0x76:                                             // re ve
            if let (b, lb) = lower(i + la), b == 0x65 { return i + la + lb }
        case 0x6C:                                                   // ll
            if let (b, lb) = lower(i + la), b == 0x6C { return i + la + lb }
        default: break
        }
        return nil
    }

    /// `\s+(?!\S)|\s+` at a whitespace character: a run of whitespace that leaves its last
    /// character to the word after it, unless the run ends the text or is one character long.
    @inline(__always) private func whitespace(_ i: Int) -> Int {
        var j = i, lastStart = i
        while j < bytes.count {
            let c = at(j)
            if c.cls != PatternScanner.S { break }
            lastStart = j
            j += c.length
        }
        if j == bytes.count || lastStart == i { return j }
        return lastStart
    }

    func gpt2(_ i: Int) -> Int {
        let c = at(i)
        if c.value == 0x27, let e = contraction(i + c.length, caseInsensitive: false) { return e }
        // ` ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+`: an optional space joins whatever follows
        // it unless that is more whitespace.
        var start = i, cls = c.cls
        if c.value == 0x20, i + 1 < bytes.count {
            let d = at(i + 1)
            if d.cls != PatternScanner.S { start = i + 1; cls = d.cls }
        }
        if cls != PatternScanner.S { return run(start, cls) }
        return whitespace(i)
    }

    func llama3(_ i: Int, maxDigits: Int) -> Int {
        let c = at(i)
        if c.value == 0x27, let e = contraction(i + c.length, caseInsensitive: true) { return e }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c.cls == PatternScanner.L { return run(i, PatternScanner.L) }
        let isNewline = c.value == 0x0A || c.value == 0x0D
        if !isNewline, c.cls != PatternScanner.N, i + c.length < bytes.count, at(i + c.length).cls == PatternScanner.L {
            return run(i + c.length, PatternScanner.L)
        }
        // \p{N}{1,3} (Qwen2: \p{N})
        if c.cls == PatternScanner.N { return run(i, PatternScanner.N, limit: maxDigits) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var start = -1
        if c.cls == 0 { start = i } else if c.value == 0x20, i + 1 < bytes.count, at(i + 1).cls == 0 { start = i + 1 }
        if start >= 0 {
            var j = run(start, 0)
            while j < bytes.count, bytes[j] == 0x0A || bytes[j] == 0x0D { j += 1 }
            return j
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last line break
        var j = i, lastBreak = -1
        while j < bytes.count {
            let d = at(j)
            if d.cls != PatternScanner.S { break }
            if d.value == 0x0A || d.value == 0x0D { lastBreak = j }
            j += d.length
        }
        if lastBreak >= 0 { return lastBreak + 1 }
        return whitespace(i)
    }
}
