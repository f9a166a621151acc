// The three character classes the pre-tokenizer regexes use, as the Oniguruma engine of
// Rust's tokenizers defines them for UTF-8 text: \p{L} (general category L*), \p{N} (N*) and
// \s (the Unicode White_Space property: U+0009–U+000D, U+0020, U+0085, U+00A0, U+1680,
// U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000; not U+200B, which is Cf).
import Foundation

enum CharacterClasses {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4

    /// One byte per BMP scalar, built once (about 65k property look-ups, a few ms); scalars
    /// above the BMP are classified on demand.
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 {
            guard let u = Unicode.Scalar(UInt32(v)) else { continue }   // surrogates
            table[v] = compute(u)
        }
        return table
    }()

    static func compute(_ u: Unicode.Scalar) -> UInt8 {
        let p = u.properties
        if p.isWhitespace { return space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return 0
        }
    }

    @inline(__always)
    static func of(_ v: UInt32, _ table: UnsafeBufferPointer<UInt8>) -> UInt8 {
        if v < 0x10000 { return table[Int(v)] }
        guard let u = Unicode.Scalar(v) else { return 0 }
        return compute(u)
    }
}

/// Decodes one scalar of well-formed UTF-8 (every buffer here comes from a Swift String).
@inline(__always)
func decodeScalar(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    let n = p.count
    if b0 < 0xE0, i + 1 < n { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
    if b0 < 0xF0, i + 2 < n {
        return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3)
    }
    if i + 3 < n {
        return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
    }
    return (0xFFFD, 1)
}
