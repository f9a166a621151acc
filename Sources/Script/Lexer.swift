// The lexer: source text to tokens. Newlines are tokens (they end statements); the parser
// skips them inside brackets. `#` starts a comment; strings are double-quoted with the
// escapes \n \t \r \0 \" \\ \u{...}.

enum Keyword: String, CaseIterable {
    case `if`, `else`, `for`, `in`, `while`, `break`, `continue`, `fn`, `return`, `use`
    case and, or, not, `true`, `false`, none
}

enum Symbol: String, CaseIterable {
    case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
    case leftBrace = "{", rightBrace = "}", comma = ",", colon = ":", semicolon = ";", dot = "."
    case dotDot = "..", plus = "+", minus = "-", star = "*", slash = "/", slashSlash = "//"
    case percent = "%", starStar = "**", assign = "=", plusAssign = "+=", minusAssign = "-="
    case starAssign = "*=", slashAssign = "/=", equal = "==", notEqual = "!=", less = "<"
    case lessEqual = "<=", greater = ">", greaterEqual = ">="
}

enum TokenKind: Equatable {
    case int(Int)
    case float(Double)
    case string(String)
    case identifier(String)
    case keyword(Keyword)
    case symbol(Symbol)
    case newline
    case eof
}

struct Token {
    var kind: TokenKind
    var span: Span
}

struct Lexer {
    let source: Source
    private let s: [Unicode.Scalar]
    private var i = 0

    init(_ source: Source) {
        self.source = source
        self.s = source.scalars
    }

    /// All tokens, ending with `.eof`; throws the first lexical error.
    static func tokenize(_ source: Source) throws -> [Token] {
        var lexer = Lexer(source)
        var tokens: [Token] = []
        while true {
            let t = try lexer.next()
            tokens.append(t)
            if t.kind == .eof { return tokens }
        }
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? {
        i + k < s.count ? s[i + k] : nil
    }

    mutating func next() throws -> Token {
        skipBlanksAndComments()
        let start = i
        guard let c = peek() else { return Token(kind: .eof, span: Span(start, start)) }
        if c == "\n" {
            i += 1
            return Token(kind: .newline, span: Span(start, i))
        }
        if isDigit(c) { return try number() }
        if isIdentifierStart(c) {
            while let d = peek(), isIdentifierContinue(d) { i += 1 }
            let word = String(String.UnicodeScalarView(s[start..<i]))
            let kind: TokenKind = Keyword(rawValue: word).map { .keyword($0) } ?? .identifier(word)
            return Token(kind: kind, span: Span(start, i))
        }
        if c == "\"" { return try string() }
        // Longest match first: three-character symbols do not exist, two before one.
        if let d = peek(1), let sym = Symbol(rawValue: String(c) + String(d)) {
            i += 2
            return Token(kind: .symbol(sym), span: Span(start, i))
        }
        if let sym = Symbol(rawValue: String(c)) {
            i += 1
            return Token(kind: .symbol(sym), span: Span(start, i))
        }
        let shown = c.properties.isWhitespace || c.value < 0x20 ? "U+" + hex(c.value) : String(c)
        var hint: String?
        if c == "'" { hint = "strings use double quotes: \"text\"" }
        if c == "&" || c == "|" || c == "!" { hint = "write `and`, `or`, `not`" }
        throw source.diagnostic(ErrorID.unexpectedCharacter, "unexpected character `\(shown)`",
                                at: Span(start, start + 1), hint: hint)
    }

    private mutating func skipBlanksAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" {
                i += 1
            } else if c == "#" {
                while let d = peek(), d != "\n" { i += 1 }
            } else {
                return
            }
        }
    }

    // INT = digit { digit | "_" } ; FLOAT = INT "." digit { digit } [ exponent ] | INT exponent
    private mutating func number() throws -> Token {
        let start = i
        var isFloat = false
        while let c = peek(), isDigit(c) || c == "_" { i += 1 }
        if peek() == ".", let d = peek(1), isDigit(d) {
            isFloat = true
            i += 1
            while let c = peek(), isDigit(c) || c == "_" { i += 1 }
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let sign = peek(1), sign == "+" || sign == "-" { k = 2 }
            if let d = peek(k), isDigit(d) {
                isFloat = true
                i += k
                while let c = peek(), isDigit(c) { i += 1 }
            }
        }
        let span = Span(start, i)
        if let c = peek(), isIdentifierStart(c) {
            while let d = peek(), isIdentifierContinue(d) { i += 1 }
            throw source.diagnostic(ErrorID.invalidNumber, "invalid number `\(source.text(Span(start, i)))`",
                                    at: Span(start, i))
        }
        let text = source.text(span).replacingUnderscores()
        if isFloat {
            guard let v = Double(text) else {
                throw source.diagnostic(ErrorID.invalidNumber, "invalid number `\(source.text(span))`", at: span)
            }
            return Token(kind: .float(v), span: span)
        }
        guard let v = Int(text) else {
            throw source.diagnostic(ErrorID.invalidNumber, "integer `\(source.text(span))` is too large",
                                    at: span, hint: "integers are 64-bit; write a float (`1e20`) for larger numbers")
        }
        return Token(kind: .int(v), span: span)
    }

    // STRING = '"' { char | escape } '"'   (on one line)
    private mutating func string() throws -> Token {
        let start = i
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek(), c != "\n" else {
                throw source.diagnostic(ErrorID.unterminatedString, "unterminated string",
                                        at: Span(start, i), hint: "close it with `\"` on the same line")
            }
            i += 1
            if c == "\"" { break }
            if c != "\\" { out.append(c); continue }
            let escStart = i - 1
            guard let e = peek(), e != "\n" else {
                throw source.diagnostic(ErrorID.unterminatedString, "unterminated string",
                                        at: Span(start, i), hint: "close it with `\"` on the same line")
            }
            i += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "0": out.append("\0")
            case "\"": out.append("\"")
            case "\\": out.append("\\")
            case "u":
                guard peek() == "{" else {
                    throw source.diagnostic(ErrorID.invalidEscape, "invalid unicode escape", at: Span(escStart, i),
                                            hint: "write `\\u{1F600}`, hexadecimal digits in braces")
                }
                i += 1
                var digits = ""
                while let h = peek(), h.properties.isASCIIHexDigit { digits.unicodeScalars.append(h); i += 1 }
                guard peek() == "}", !digits.isEmpty, digits.count <= 8,
                      let v = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(v) else {
                    if peek() == "}" { i += 1 }
                    throw source.diagnostic(ErrorID.invalidEscape, "invalid unicode escape", at: Span(escStart, i),
                                            hint: "write `\\u{1F600}`, hexadecimal digits in braces")
                }
                i += 1
                out.append(scalar)
            default:
                throw source.diagnostic(ErrorID.invalidEscape, "unknown escape `\\\(e)` in string",
                                        at: Span(escStart, i), hint: "the escapes are \\n \\t \\r \\0 \\\" \\\\ \\u{...}")
            }
        }
        return Token(kind: .string(String(out)), span: Span(start, i))
    }
}

func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }
func isIdentifierContinue(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || isDigit(c) }

func isIdentifier(_ word: String) -> Bool {
    guard let first = word.unicodeScalars.first, isIdentifierStart(first) else { return false }
    return word.unicodeScalars.allSatisfy(isIdentifierContinue) && Keyword(rawValue: word) == nil
}

private func hex(_ v: UInt32) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - h.count)) + h
}

private extension String {
    func replacingUnderscores() -> String { String(unicodeScalars.filter { $0 != "_" }.map(Character.init)) }
}

extension TokenKind {
    /// How an error message names the token: `)`, `foo`, `12`, "a string", "end of line".
    var described: String {
        switch self {
        case .int(let v): return "`\(v)`"
        case .float(let v): return "`\(v)`"
        case .string: return "a string"
        case .identifier(let n): return "`\(n)`"
        case .keyword(let k): return "`\(k.rawValue)`"
        case .symbol(let s): return "`\(s.rawValue)`"
        case .newline: return "end of line"
        case .eof: return "end of input"
        }
    }
}
