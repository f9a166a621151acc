// Decoders of HF tokenizer.json ("decoder"): turn the token strings of a list of ids back
// into text. Each step maps a list of strings to a list (the library's decode_chain) and the
// results are concatenated. Implements ByteLevel, Replace, ByteFallback, Fuse, Strip,
// Metaspace and Sequence.
import Foundation

indirect enum Decoder {
    case byteLevel
    case replace(Normalizer.ReplacePattern, content: String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PreTokenizer.PrependScheme)
    case sequence([Decoder])

    var containsByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let list): return list.contains { $0.containsByteLevel }
        default: return false
        }
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            // All tokens become one byte string; a token with a character outside the byte
            // alphabet (an added token like "<｜end▁of▁sentence｜>") contributes its own UTF-8.
            var bytes: [UInt8] = []
            for t in tokens where !ByteLevel.decode(t, into: &bytes) { bytes.append(contentsOf: Array(t.utf8)) }
            return [String(decoding: bytes, as: UTF8.self)]   // invalid UTF-8 becomes U+FFFD, like from_utf8_lossy
        case .replace(.string(let needle), let content):
            return tokens.map { replaceBytes($0, needle, content) }
        case .replace(.regex(let re), let content):
            return tokens.map { t in
                re.stringByReplacingMatches(in: t, range: NSRange(location: 0, length: (t as NSString).length),
                                            withTemplate: NSRegularExpression.escapedTemplate(for: content))
            }
        case .byteFallback:
            // Runs of <0xXX> tokens become the string they spell if that is valid UTF-8, else
            // one U+FFFD per byte.
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                // Decoding is lossless exactly when the bytes are valid UTF-8.
                let s = String(decoding: pending, as: UTF8.self)
                if s.utf8.elementsEqual(pending) { out.append(s) }
                else { out.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count)) }
                pending.removeAll()
            }
            for t in tokens {
                if let b = Decoder.byteValue(t) { pending.append(b) } else { flush(); out.append(t) }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                var scalars = Array(t.unicodeScalars)
                var cut = 0
                while cut < start, cut < scalars.count, scalars[cut] == content { cut += 1 }
                scalars.removeFirst(cut)
                var tail = 0
                while tail < stop, !scalars.isEmpty, scalars.last == content { scalars.removeLast(); tail += 1 }
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars)
                return String(s)
            }
        case .metaspace(let replacement, let scheme):
            // As the library does: in the first token every replacement character is dropped
            // (unless the scheme is "never"); elsewhere it becomes a space.
            return tokens.enumerated().map { i, t in
                var s = String.UnicodeScalarView()
                for u in t.unicodeScalars {
                    if u == replacement {
                        if i == 0 && scheme != .never { continue }
                        s.append(" ")
                    } else { s.append(u) }
                }
                return String(s)
            }
        case .sequence(let list):
            var t = tokens
            for d in list { t = d.decodeChain(t) }
            return t
        }
    }

    /// The byte of a `<0xXX>` token (exactly six bytes, two hex digits).
    static func byteValue(_ t: String) -> UInt8? {
        guard t.utf8.count == 6 else { return nil }
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }
}
