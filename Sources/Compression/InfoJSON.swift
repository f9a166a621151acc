// JSON with insertion-ordered keys, written as Python's json.dump(indent=4) writes it, for
// the reference-compatible info and args files (reference-algorithms.md §4.8, §8.2 point 10;
// Q23: +inf as the bare token `Infinity` under parity, a string otherwise). The reader
// accepts Infinity/NaN.
import Foundation

public indirect enum InfoJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([InfoJSON])
    case object([(String, InfoJSON)])

    public static func == (a: InfoJSON, b: InfoJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> InfoJSON? {
        if case .object(let o) = self { return o.first { $0.0 == key }?.1 }
        return nil
    }
    public var keys: [String] { if case .object(let o) = self { return o.map(\.0) } else { return [] } }
    public var array: [InfoJSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string("Infinity"): return .infinity
        default: return nil
        }
    }
    public var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    public var numbers: [Double]? { array?.compactMap(\.number) }
    public var ints: [Int]? { array?.compactMap(\.int) }

    public static func numbers(_ v: [Double]) -> InfoJSON { .array(v.map { .double($0) }) }
    public static func ints(_ v: [Int]) -> InfoJSON { .array(v.map { .int($0) }) }

    // MARK: writing

    /// Python's `json.dump(obj, f, indent=4)`; `bareInfinity` writes ±inf/NaN as Python does,
    /// otherwise as the strings "Infinity", "-Infinity", "NaN" (standard JSON).
    public func serialized(bareInfinity: Bool) -> String {
        var out = ""
        write(&out, 0, bareInfinity)
        return out
    }

    private func write(_ out: inout String, _ level: Int, _ bare: Bool) {
        let pad = String(repeating: " ", count: 4 * (level + 1)), close = String(repeating: " ", count: 4 * level)
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += bare ? "NaN" : "\"NaN\"" }
            else if d.isInfinite { out += bare ? (d > 0 ? "Infinity" : "-Infinity") : (d > 0 ? "\"Infinity\"" : "\"-Infinity\"") }
            else { out += InfoJSON.pythonRepr(d) }
        case .string(let s): InfoJSON.quote(s, &out)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, v) in a.enumerated() {
                out += pad
                v.write(&out, level + 1, bare)
                out += i + 1 < a.count ? ",\n" : "\n"
            }
            out += close + "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (k, v)) in o.enumerated() {
                out += pad
                InfoJSON.quote(k, &out)
                out += ": "
                v.write(&out, level + 1, bare)
                out += i + 1 < o.count ? ",\n" : "\n"
            }
            out += close + "}"
        }
    }

    /// Python's float repr: the shortest round-trip digits, exponent form outside [1e-4, 1e16).
    static func pythonRepr(_ d: Double) -> String {
        var s = "\(d)"  // Swift's description is also shortest round-trip
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var mant = String(s[..<e]), exp = String(s[s.index(after: e)...])
            if mant.hasSuffix(".0") { mant.removeLast(2) }
            let neg = exp.hasPrefix("-")
            exp = exp.trimmingCharacters(in: CharacterSet(charactersIn: "+-"))
            if exp.count < 2 { exp = "0" + exp }
            s = mant + "e" + (neg ? "-" : "+") + exp
        }
        return s
    }

    static func quote(_ s: String, _ out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value > 0x7E {
                    // ensure_ascii: \uXXXX, surrogate pairs above the BMP.
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                    } else { out += String(format: "\\u%04x", u.value) }
                } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }

    // MARK: reading

    public struct ParseError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { "JSON: \(message)" }
    }

    public static func parse(_ text: String) throws -> InfoJSON {
        var p = Parser(bytes: Array(text.utf8))
        let v = try p.value()
        p.skip()
        guard p.i == p.bytes.count else { throw ParseError(message: "trailing characters at byte \(p.i)") }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0
        mutating func skip() { while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }
        mutating func lit(_ s: String) -> Bool {
            let b = Array(s.utf8)
            if i + b.count <= bytes.count, Array(bytes[i..<(i + b.count)]) == b { i += b.count; return true }
            return false
        }
        mutating func value() throws -> InfoJSON {
            skip()
            guard i < bytes.count else { throw ParseError(message: "unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var o: [(String, InfoJSON)] = []
                skip()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                while true {
                    skip()
                    guard case .string(let k) = try value() else { throw ParseError(message: "object key expected at byte \(i)") }
                    skip()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw ParseError(message: "':' expected at byte \(i)") }
                    i += 1
                    o.append((k, try value()))
                    skip()
                    guard i < bytes.count else { throw ParseError(message: "unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                    throw ParseError(message: "',' or '}' expected at byte \(i)")
                }
            case UInt8(ascii: "["):
                i += 1
                var a: [InfoJSON] = []
                skip()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                while true {
                    a.append(try value())
                    skip()
                    guard i < bytes.count else { throw ParseError(message: "unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                    throw ParseError(message: "',' or ']' expected at byte \(i)")
                }
            case UInt8(ascii: "\""):
                i += 1
                var s = [UInt8]()
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                        i += 1
                        switch bytes[i] {
                        case UInt8(ascii: "n"): s.append(0x0A)
                        case UInt8(ascii: "t"): s.append(0x09)
                        case UInt8(ascii: "r"): s.append(0x0D)
                        case UInt8(ascii: "b"): s.append(0x08)
                        case UInt8(ascii: "f"): s.append(0x0C)
                        case UInt8(ascii: "u"):
                            guard i + 4 < bytes.count, var v = UInt32(String(decoding: bytes[(i + 1)...(i + 4)], as: UTF8.self), radix: 16) else {
                                throw ParseError(message: "bad \\u escape at byte \(i)")
                            }
                            i += 4
                            if (0xD800..<0xDC00).contains(v), i + 6 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"),
                               let lo = UInt32(String(decoding: bytes[(i + 3)...(i + 6)], as: UTF8.self), radix: 16) {
                                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00); i += 6
                            }
                            s += Array(String(Character(Unicode.Scalar(v) ?? "?")).utf8)
                        default: s.append(bytes[i])
                        }
                    } else { s.append(bytes[i]) }
                    i += 1
                }
                guard i < bytes.count else { throw ParseError(message: "unterminated string") }
                i += 1
                return .string(String(decoding: s, as: UTF8.self))
            default:
                if lit("null") { return .null }
                if lit("true") { return .bool(true) }
                if lit("false") { return .bool(false) }
                if lit("Infinity") { return .double(.infinity) }
                if lit("-Infinity") { return .double(-.infinity) }
                if lit("NaN") { return .double(.nan) }
                let start = i
                while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
                let t = String(decoding: bytes[start..<i], as: UTF8.self)
                if !t.contains(where: { ".eE".contains($0) }), let n = Int(t) { return .int(n) }
                guard let d = Double(t) else { throw ParseError(message: "bad token `\(t)` at byte \(start)") }
                return .double(d)
            }
        }
    }
}
