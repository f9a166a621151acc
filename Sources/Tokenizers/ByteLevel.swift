// GPT-2's reversible byte ↔ character map (bytes_to_unicode in openai/gpt-2's encoder.py,
// ByteLevel in HF tokenizers): printable Latin-1 bytes stand for themselves, the other 68
// bytes are shifted to U+0100…U+0143, so every byte string becomes a printable token.
import Foundation

enum ByteLevel {
    /// The character standing for each byte.
    static let byteToScalar: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                map[b] = UInt32(b)
            } else {
                map[b] = next
                next += 1
            }
        }
        return map
    }()

    /// The UTF-8 encoding of each byte's character (one or two bytes), for building mapped
    /// strings without going through Character.
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// The byte each character stands for, indexed by scalar value (-1: not a byte character).
    static let scalarToByte: [Int16] = {
        var map = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { map[Int(s)] = Int16(b) }
        return map
    }()

    /// The mapped form of a UTF-8 byte string.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        byteToUTF8.withUnsafeBufferPointer { table in
            for b in bytes { out.append(contentsOf: table[Int(b)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ s: String) -> String {
        var s = s
        return s.withUTF8 { encode($0) }
    }

    /// The bytes a token stands for, or nil when one of its characters is not a byte
    /// character (then the tokenizers library keeps the token's own UTF-8 bytes).
    static func decode(_ token: String, into out: inout [UInt8]) -> Bool {
        let mark = out.count
        for u in token.unicodeScalars {
            let v = Int(u.value)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else {
                out.removeSubrange(mark..<out.count)
                return false
            }
            out.append(UInt8(scalarToByte[v]))
        }
        return true
    }
}
