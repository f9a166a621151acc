// Added and special tokens (the tokenizers library's AddedVocabulary): found in the text
// before normalisation and pre-tokenisation, leftmost-longest as its Aho-Corasick automaton
// finds them, with the single_word / lstrip / rstrip checks of `find_matches`. Tokens with
// `normalized: true` are looked for in the normalised text instead, in normalised form.
import Foundation

struct AddedToken {
    var id: Int
    var content: String
    var singleWord = false
    var lstrip = false
    var rstrip = false
    var normalized = false
    var special = false
}

/// One stretch of input after added-token splitting.
enum Segment {
    case text(String)
    case token(Int)
}

struct AddedTokenMatcher {
    private struct Node { var children: [UInt8: Int32] = [:]; var token: Int32 = -1 }
    private var nodes = [Node()]
    private var tokens: [AddedToken] = []
    private var firstByte = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { tokens.isEmpty }

    init(_ list: [AddedToken], content: (AddedToken) -> String = { $0.content }) {
        for t in list {
            let bytes = Array(content(t).utf8)
            guard !bytes.isEmpty else { continue }
            var node = 0
            for b in bytes {
                if let next = nodes[node].children[b] { node = Int(next); continue }
                nodes.append(Node())
                nodes[node].children[b] = Int32(nodes.count - 1)
                node = nodes.count - 1
            }
            // The same content twice: the later declaration wins, as in the library's map.
            tokens.append(t)
            nodes[node].token = Int32(tokens.count - 1)
            firstByte[Int(bytes[0])] = true
        }
    }

    /// Splits `text` into added tokens and the stretches between them (empty ones dropped).
    func split(_ text: String, _ emit: (Segment) -> Void) {
        guard !tokens.isEmpty else { if !text.isEmpty { emit(.text(text)) }; return }
        var storage = text
        storage.withUTF8 { bytes in
            let n = bytes.count
            var pieceStart = 0   // start of the text not yet emitted
            var i = 0
            func emitText(_ s: Int, _ e: Int) {
                if e > s { emit(.text(String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self))) }
            }
            while i < n {
                guard firstByte[Int(bytes[i])] else { i += 1; continue }
                // Longest token starting at i.
                var node = 0, j = i, found = -1, foundEnd = i
                while j < n, let next = nodes[node].children[bytes[j]] {
                    node = Int(next); j += 1
                    if nodes[node].token >= 0 { found = Int(nodes[node].token); foundEnd = j }
                }
                guard found >= 0 else { i += 1; continue }
                let t = tokens[found]
                var start = i, stop = foundEnd
                if t.singleWord {
                    let before = start == 0 || !AddedTokenMatcher.isWordScalar(lastScalar(bytes, before: start))
                    let after = stop == n || !AddedTokenMatcher.isWordScalar(decodeScalar(bytes, stop).value)
                    // A rejected match is skipped whole, as find_iter resumes after it.
                    if !(before && after) { i = foundEnd; continue }
                }
                if t.lstrip {
                    var s = start
                    while s > pieceStart {
                        let (v, l) = lastScalarWithLength(bytes, before: s)
                        guard Unicode.Scalar(v)?.properties.isWhitespace == true else { break }
                        s -= l
                    }
                    start = s
                }
                if t.rstrip {
                    while stop < n {
                        let (v, l) = decodeScalar(bytes, stop)
                        guard Unicode.Scalar(v)?.properties.isWhitespace == true else { break }
                        stop += l
                    }
                }
                emitText(pieceStart, start)
                emit(.token(t.id))
                pieceStart = stop
                i = max(foundEnd, stop)
            }
            emitText(pieceStart, n)
        }
    }

    /// A word character as the library's `\w` (Rust regex, Unicode) sees it: Alphabetic,
    /// a mark, a decimal digit, connector punctuation such as "_", or a joiner (ZWNJ, ZWJ).
    /// "²" (No) is not one; a combining accent is.
    static func isWordScalar(_ v: UInt32) -> Bool {
        guard let u = Unicode.Scalar(v) else { return false }
        if u.properties.isAlphabetic || v == 0x200C || v == 0x200D { return true }
        switch u.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    private func lastScalar(_ bytes: UnsafeBufferPointer<UInt8>, before end: Int) -> UInt32 {
        lastScalarWithLength(bytes, before: end).0
    }

    private func lastScalarWithLength(_ bytes: UnsafeBufferPointer<UInt8>, before end: Int) -> (UInt32, Int) {
        var s = end - 1
        while s > 0, bytes[s] & 0xC0 == 0x80 { s -= 1 }
        return (decodeScalar(bytes, s).value, end - s)
    }
}
