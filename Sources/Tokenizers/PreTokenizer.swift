// Pre-tokenizers of HF tokenizer.json ("pre_tokenizer"): cut each normalised stretch of text
// into the words the model sees. Implements the tokenizers library's ByteLevel, Split (all
// five delimiter behaviours, invert), Metaspace, Digits, WhitespaceSplit and Sequence.
import Foundation

indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitPattern, behavior: SplitBehavior, invert: Bool)
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case whitespaceSplit
    case sequence([PreTokenizer])

    enum SplitBehavior: String {
        case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
        case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
    }

    enum PrependScheme: String { case always, first, never }

    var containsByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let list): return list.contains { $0.containsByteLevel }
        default: return false
        }
    }

    var containsMetaspace: Bool {
        switch self {
        case .metaspace: return true
        case .sequence(let list): return list.contains { $0.containsMetaspace }
        default: return false
        }
    }

    /// Emits the words of `piece` in order, each with whether it starts at the very
    /// beginning of the input (Metaspace's "first" prepend scheme needs that).
    func preTokenize(_ piece: String, atStart: Bool, _ emit: (String, Bool) -> Void) {
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            // The library only checks for a literal space, not any whitespace.
            let text = addPrefixSpace && !piece.hasPrefix(" ") ? " " + piece : piece
            if !useRegex { emit(ByteLevel.encode(text), atStart); return }
            var storage = text
            storage.withUTF8 { bytes in
                SplitPattern.gpt2.forEachMatch(text, bytes) { s, e in
                    emit(ByteLevel.encode(UnsafeBufferPointer(rebasing: bytes[s..<e])), atStart && s == 0)
                }
            }
        case .split(let pattern, let behavior, let invert):
            PreTokenizer.split(piece, pattern, behavior, invert, atStart: atStart, emit)
        case .metaspace(let replacement, let scheme, let split):
            var text = replaceBytes(piece, " ", replacement)
            let prepend = scheme == .always || (scheme == .first && atStart)
            if prepend && !text.hasPrefix(replacement) { text = replacement + text }
            if split {
                PreTokenizer.split(text, .literal(replacement), .mergedWithNext, false, atStart: atStart, emit)
            } else {
                emit(text, atStart)
            }
        case .digits(let individual):
            PreTokenizer.splitByClass(piece, CharacterClasses.number, individual ? .isolated : .contiguous, atStart: atStart, emit)
        case .whitespaceSplit:
            PreTokenizer.splitByClass(piece, CharacterClasses.space, .removed, atStart: atStart, emit)
        case .sequence(let list):
            PreTokenizer.chain(list[...], piece, atStart, emit)
        }
    }

    private static func chain(_ list: ArraySlice<PreTokenizer>, _ piece: String, _ atStart: Bool,
                              _ emit: (String, Bool) -> Void) {
        guard let first = list.first else { emit(piece, atStart); return }
        let rest = list.dropFirst()
        first.preTokenize(piece, atStart: atStart) { sub, subAtStart in chain(rest, sub, subAtStart, emit) }
    }

    /// NormalizedString::split: the matches and the gaps between them, marked, then combined
    /// according to the behaviour; empty pieces are dropped.
    static func split(_ piece: String, _ pattern: SplitPattern, _ behavior: SplitBehavior, _ invert: Bool,
                      atStart: Bool, _ emit: (String, Bool) -> Void) {
        var storage = piece
        storage.withUTF8 { bytes in
            func out(_ s: Int, _ e: Int) {
                if e > s { emit(String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self), atStart && s == 0) }
            }
            if behavior == .isolated {
                // The hot path of every byte-level tokenizer: matches and gaps alike are words.
                var prev = 0
                pattern.forEachMatch(piece, bytes) { s, e in
                    out(prev, s)
                    out(s, e)
                    prev = e
                }
                out(prev, bytes.count)
                return
            }
            var marked: [(start: Int, end: Int, isMatch: Bool)] = []
            var prev = 0
            pattern.forEachMatch(piece, bytes) { s, e in
                if prev < s { marked.append((prev, s, invert)) }
                marked.append((s, e, !invert))
                prev = e
            }
            if prev < bytes.count { marked.append((prev, bytes.count, invert)) }
            for (s, e) in combine(marked, behavior) { out(s, e) }
        }
    }

    static func combine(_ marked: [(start: Int, end: Int, isMatch: Bool)], _ behavior: SplitBehavior) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        switch behavior {
        case .isolated:
            out = marked.map { ($0.start, $0.end) }
        case .removed:
            out = marked.filter { !$0.isMatch }.map { ($0.start, $0.end) }
        case .contiguous:
            var previous = false
            for m in marked {
                if m.isMatch == previous, !out.isEmpty { out[out.count - 1].1 = m.end } else { out.append((m.start, m.end)) }
                previous = m.isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for m in marked {
                if m.isMatch && !previous, !out.isEmpty { out[out.count - 1].1 = m.end } else { out.append((m.start, m.end)) }
                previous = m.isMatch
            }
        case .mergedWithNext:
            var previous = false
            for m in marked.reversed() {
                if m.isMatch && !previous, !out.isEmpty { out[out.count - 1].0 = m.start } else { out.append((m.start, m.end)) }
                previous = m.isMatch
            }
            out.reverse()
        }
        return out
    }

    /// Splits on characters of one class (runs of them are one match).
    private static func splitByClass(_ piece: String, _ cls: UInt8, _ behavior: SplitBehavior,
                                     atStart: Bool, _ emit: (String, Bool) -> Void) {
        var storage = piece
        storage.withUTF8 { bytes in
            CharacterClasses.bmp.withUnsafeBufferPointer { table in
                var marked: [(start: Int, end: Int, isMatch: Bool)] = []
                var i = 0
                while i < bytes.count {
                    let (v, l) = decodeScalar(bytes, i)
                    let isMatch = CharacterClasses.of(v, table) == cls
                    // Isolated digits are one match each; everything else groups into runs.
                    if let last = marked.last, last.isMatch == isMatch, !(isMatch && behavior == .isolated) {
                        marked[marked.count - 1].end = i + l
                    } else {
                        marked.append((i, i + l, isMatch))
                    }
                    i += l
                }
                for (s, e) in combine(marked, behavior) where e > s {
                    emit(String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self), atStart && s == 0)
                }
            }
        }
    }
}
