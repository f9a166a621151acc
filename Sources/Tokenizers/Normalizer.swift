// Normalizers of HF tokenizer.json ("normalizer"): applied to each stretch of text between
// added tokens, before pre-tokenisation. Implements the tokenizers library's NFC, NFD, NFKC,
// NFKD, Lowercase, Prepend, Append, Replace (string or regex), Strip and Sequence.
import Foundation

indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case prepend(String)
    case append(String)
    case replace(ReplacePattern, content: String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    enum ReplacePattern {
        case string(String)
        case regex(NSRegularExpression)
    }

    func normalize(_ s: String) -> String {
        switch self {
        case .nfc:
            // Every scalar below U+0300 is already in NFC (no combining marks there), which
            // covers ASCII and Latin-1 text without a call into Foundation.
            if s.unicodeScalars.allSatisfy({ $0.value < 0x300 }) { return s }
            return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .lowercase: return s.lowercased()
        case .prepend(let p): return s.isEmpty ? s : p + s      // the library leaves "" alone
        case .append(let a): return s.isEmpty ? s : s + a
        case .replace(.string(let needle), let content): return replaceBytes(s, needle, content)
        case .replace(.regex(let re), let content):
            let ns = s as NSString
            return re.stringByReplacingMatches(in: s, range: NSRange(location: 0, length: ns.length),
                                               withTemplate: NSRegularExpression.escapedTemplate(for: content))
        case .strip(let left, let right):
            var scalars = Substring(s).unicodeScalars[...]
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            return String(String.UnicodeScalarView(scalars))
        case .sequence(let list):
            var t = s
            for n in list { t = n.normalize(t) }
            return t
        }
    }
}

/// Replaces every occurrence of `needle` by `content`, comparing UTF-8 bytes: Foundation's
/// replacingOccurrences compares Characters, so it would not replace a space that a
/// following combining mark joins into one grapheme; the tokenizers library does.
func replaceBytes(_ s: String, _ needle: String, _ content: String) -> String {
    let n = Array(needle.utf8), c = Array(content.utf8)
    guard !n.isEmpty else { return s }
    var s = s
    return s.withUTF8 { bytes -> String in
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bytes.count / 2)
        var i = 0, changed = false
        while i < bytes.count {
            if bytes[i] == n[0], i + n.count <= bytes.count {
                var k = 1
                while k < n.count, bytes[i + k] == n[k] { k += 1 }
                if k == n.count { out.append(contentsOf: c); i += n.count; changed = true; continue }
            }
            out.append(bytes[i])
            i += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : String(decoding: bytes, as: UTF8.self)
    }
}
