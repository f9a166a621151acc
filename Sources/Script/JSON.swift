// A minimal JSON (RFC 8259) value, parser and writer for the session log and `json_read` /
// `json_write`. Objects keep their order (records read back as written); the log's writer
// sorts keys instead, so a record's line is byte-for-byte deterministic.

public enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let fields) = self { return fields.last { $0.0 == key }?.1 }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    public var array: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "\(message) at byte \(offset)" }
    }

    public enum WriteError: Error, CustomStringConvertible {
        case nonFinite(Double)
        public var description: String {
            switch self { case .nonFinite(let d): return "JSON cannot hold \(formatFloat(d))" }
        }
    }

    // MARK: Writing

    /// Compact, keys sorted when `sortKeys`; `indent` > 0 pretty-prints.
    public func serialized(sortKeys: Bool = false, indent: Int = 0) throws -> String {
        var out = ""
        try write(&out, sortKeys: sortKeys, indent: indent, level: 0)
        return out
    }

    private func write(_ out: inout String, sortKeys: Bool, indent: Int, level: Int) throws {
        let newline = indent > 0 ? "\n" : ""
        let pad = { (n: Int) in String(repeating: " ", count: indent * n) }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            guard d.isFinite else { throw WriteError.nonFinite(d) }
            out += formatFloat(d)
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + newline
            for (k, item) in items.enumerated() {
                out += pad(level + 1)
                try item.write(&out, sortKeys: sortKeys, indent: indent, level: level + 1)
                out += (k + 1 < items.count ? "," : "") + newline
            }
            out += pad(level) + "]"
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            let ordered = sortKeys ? fields.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) } : fields
            out += "{" + newline
            for (k, (key, value)) in ordered.enumerated() {
                out += pad(level + 1)
                JSON.writeString(key, to: &out)
                out += indent > 0 ? ": " : ":"
                try value.write(&out, sortKeys: sortKeys, indent: indent, level: level + 1)
                out += (k + 1 < ordered.count ? "," : "") + newline
            }
            out += pad(level) + "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let h = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }

    // MARK: Parsing

    public static func parse(_ text: String) throws -> JSON {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSON {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw ParseError(offset: p.i, message: "unexpected text after the value") }
        return v
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    func fail(_ message: String) -> JSON.ParseError { JSON.ParseError(offset: i, message: message) }

    mutating func literal(_ word: String, _ v: JSON) throws -> JSON {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("invalid literal") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws -> JSON {
        guard depth < 512 else { throw fail("nested too deeply") }
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["):
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of input in array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected `,` or `]` in array")
            }
        case UInt8(ascii: "{"):
            i += 1
            var fields: [(String, JSON)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key in object") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected `:` in object") }
                i += 1
                skipSpace()
                let v = try value(depth: depth + 1)
                if let k = fields.firstIndex(where: { $0.0 == key }) { fields[k].1 = v } else { fields.append((key, v)) }
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of input in object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                throw fail("expected `,` or `}` in object")
            }
        default:
            return try number()
        }
    }

    mutating func number() throws -> JSON {
        let start = i
        func digits() { while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 } }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        digits()
        guard i > intStart else { i = start; throw fail("invalid value") }
        if bytes[intStart] == 0x30, i - intStart > 1 { throw fail("leading zero in number") }
        var isInteger = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            let f = i
            digits()
            guard i > f else { throw fail("digits expected after `.`") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let e = i
            digits()
            guard i > e else { throw fail("digits expected in exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isInteger, let v = Int(text) { return .int(v) }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        i += 4
        return v
    }

    mutating func string() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") { out.append(b); continue }
            guard i < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800, v < 0xDC00 {
                    guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00, low < 0xE000 else { throw fail("unpaired surrogate") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(v) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: Array(String(scalar).utf8))
            default:
                throw fail("invalid escape")
            }
        }
        // Invalid UTF-8 becomes U+FFFD rather than an error: a log line stays readable.
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: Values to and from JSON

extension Value {
    /// The value as JSON data: records become objects, ranges lists. Functions and host
    /// objects have no JSON form; nil for them (and for nan/inf).
    public var json: JSON? {
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return d.isFinite ? .double(d) : nil
        case .string(let s): return .string(s)
        case .list(let xs):
            var items: [JSON] = []
            for x in xs { guard let j = x.json else { return nil }; items.append(j) }
            return .array(items)
        case .range(let r): return .array(r.map { .int($0) })
        case .record(let r):
            var fields: [(String, JSON)] = []
            for (k, v) in r.fields { guard let j = v.json else { return nil }; fields.append((k, j)) }
            return .object(fields)
        case .function, .builtin, .host: return nil
        }
    }

    public init(json: JSON) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(Value.init(json:)))
        case .object(let fields): self = .record(Record(fields.map { ($0.0, Value(json: $0.1)) }))
        }
    }

    /// The log's form of any value: JSON where it has one; host objects as
    /// `{"$host": type, "fingerprint": hex}`, functions by name, nan/inf as strings.
    var logJSON: JSON {
        switch self {
        case .float(let d) where !d.isFinite: return .object([("$float", .string(formatFloat(d)))])
        case .list(let xs): return .array(xs.map(\.logJSON))
        case .record(let r): return .object(r.fields.map { ($0.key, $0.value.logJSON) })
        case .function(let f): return .object([("$fn", .string(f.name))])
        case .builtin(let n): return .object([("$builtin", .string(n))])
        case .host(let h):
            return .object([("$host", .string(h.typeName)), ("fingerprint", h.fingerprint.map(JSON.string) ?? .null)])
        default: return json ?? .null
        }
    }
}
