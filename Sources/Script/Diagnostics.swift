// Diagnostics: errors as values with a stable id, a severity and a source range, and the one
// formatter that renders them — `file:line:column: error[E0301]: message`, the source line, a
// caret under the spot, a hint, and the chain of call sites (after swift-syntax's formatter).

/// A place in a source file: 1-based line and column (counted in Unicode scalars), and the
/// length of the marked text on that line.
public struct SourceRange: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var length: Int

    public init(file: String, line: Int, column: Int, length: Int = 1) {
        self.file = file; self.line = line; self.column = column; self.length = length
    }

    /// `file:line:column`
    public var description: String { "\(file):\(line):\(column)" }
}

public enum Severity: String, Sendable {
    case error, warning, note
}

/// One line of the call chain under a runtime error: `in fn foo at main.come:7:5`.
public struct DiagnosticNote: Hashable, Sendable {
    public var message: String
    public var range: SourceRange?

    public init(_ message: String, at range: SourceRange?) {
        self.message = message; self.range = range
    }
}

public struct Diagnostic: Error, Hashable, Sendable {
    /// Stable identifier (`E0301`); see `ErrorID`.
    public var id: String
    public var severity: Severity
    public var message: String
    public var range: SourceRange?
    /// The text of the source line `range` points into, captured when the diagnostic is made,
    /// so the formatter needs no access to files.
    public var sourceLine: String?
    public var hint: String?
    /// Call sites, innermost first.
    public var notes: [DiagnosticNote]

    public init(id: String, severity: Severity = .error, message: String, range: SourceRange? = nil,
                sourceLine: String? = nil, hint: String? = nil, notes: [DiagnosticNote] = []) {
        self.id = id; self.severity = severity; self.message = message; self.range = range
        self.sourceLine = sourceLine; self.hint = hint; self.notes = notes
    }

    /// The plain rendering, as a script run prints it.
    public var rendered: String { DiagnosticFormatter().format(self) }
}

/// The stable error ids. Tests and the language reference name them; never renumber one.
public enum ErrorID {
    // Lexical
    public static let unexpectedCharacter = "E0101"
    public static let unterminatedString = "E0102"
    public static let invalidEscape = "E0103"
    public static let invalidNumber = "E0104"
    // Syntax
    public static let unexpectedToken = "E0201"
    public static let unclosedBracket = "E0202"
    public static let invalidAssignment = "E0203"
    public static let chainedComparison = "E0204"
    public static let misplacedControl = "E0205"
    public static let invalidParameters = "E0206"
    public static let invalidArguments = "E0207"
    public static let nestingTooDeep = "E0208"
    // Names
    public static let undefinedVariable = "E0301"
    public static let unknownFunction = "E0302"
    public static let noSuchField = "E0303"
    // Arguments (the builtin table and fn parameters)
    public static let unknownKeyword = "E0401"
    public static let missingArgument = "E0402"
    public static let tooManyArguments = "E0403"
    public static let wrongArgumentType = "E0404"
    public static let duplicateArgument = "E0405"
    public static let invalidArgument = "E0406"
    // Values at run time
    public static let unsupportedOperands = "E0501"
    public static let divisionByZero = "E0502"
    public static let indexOutOfRange = "E0503"
    public static let notCallable = "E0504"
    public static let notIndexable = "E0505"
    public static let integerOverflow = "E0506"
    public static let invalidValue = "E0507"
    public static let assertionFailed = "E0508"
    public static let notIterable = "E0509"
    public static let notBool = "E0510"
    public static let cannotAssign = "E0511"
    public static let cannotUnpack = "E0512"
    // Files
    public static let cannotReadFile = "E0601"
    public static let cyclicUse = "E0602"
    public static let invalidJSON = "E0603"
    public static let cannotWriteFile = "E0604"
    public static let sessionLog = "E0605"
    // Execution
    public static let interrupted = "E0701"
    public static let recursionTooDeep = "E0702"
    public static let scriptArgument = "E0703"
    public static let effectForbidden = "E0704"
    // A host primitive failed with an error of its own.
    public static let hostError = "E0801"

    /// Every id with a one-line summary, for the language reference.
    public static let all: [(id: String, summary: String)] = [
        (unexpectedCharacter, "a character that starts no token"),
        (unterminatedString, "a string without its closing quote on the same line"),
        (invalidEscape, "an unknown escape in a string"),
        (invalidNumber, "a number literal that is malformed or too large"),
        (unexpectedToken, "the parser expected something else here"),
        (unclosedBracket, "a bracket, parenthesis or brace left open at the end of input"),
        (invalidAssignment, "the left side of `=` is not a variable, element or field"),
        (chainedComparison, "`a < b < c`; comparisons do not chain"),
        (misplacedControl, "`break`/`continue` outside a loop, `return` outside a fn"),
        (invalidParameters, "a repeated parameter, or one without default after one with"),
        (invalidArguments, "a positional argument after a keyword one, or a repeated keyword"),
        (nestingTooDeep, "brackets or blocks nested more than 100 deep"),
        (undefinedVariable, "a name that is not defined"),
        (unknownFunction, "a call to a name that is neither a builtin nor a defined fn"),
        (noSuchField, "a field that the record or host object does not have"),
        (unknownKeyword, "a keyword argument that the callee does not take"),
        (missingArgument, "a required argument not given"),
        (tooManyArguments, "more positional arguments than the callee takes"),
        (wrongArgumentType, "an argument of the wrong type"),
        (duplicateArgument, "an argument given both by position and by keyword"),
        (invalidArgument, "an argument of the right type but an unusable value"),
        (unsupportedOperands, "an operator applied to values it does not work on"),
        (divisionByZero, "division or remainder by zero"),
        (indexOutOfRange, "an index past the end of a list, string or range"),
        (notCallable, "a call of a value that is not a function"),
        (notIndexable, "indexing a value that has no elements, or with the wrong kind of index"),
        (integerOverflow, "an integer result outside the 64-bit range"),
        (invalidValue, "a conversion or operation on an unusable value (`int(\"x\")`)"),
        (assertionFailed, "`assert` with a false condition"),
        (notIterable, "`for` over a value that has no elements"),
        (notBool, "a condition or `and`/`or`/`not` operand that is not a bool"),
        (cannotAssign, "assignment into a value that cannot be changed that way"),
        (cannotUnpack, "`for a, b in ...` over elements of the wrong shape"),
        (cannotReadFile, "a file that cannot be read"),
        (cyclicUse, "`use` of a file that is already being used"),
        (invalidJSON, "a JSON file that cannot be parsed, or a value JSON cannot hold"),
        (cannotWriteFile, "a file that cannot be written"),
        (sessionLog, "the session log could not be written"),
        (interrupted, "the statement was interrupted (Ctrl-C)"),
        (recursionTooDeep, "fn calls nested more than the limit (200)"),
        (scriptArgument, "a script argument that is missing or has the wrong form"),
        (effectForbidden, "a builtin whose effects the session does not allow (safe mode)"),
        (hostError, "a host primitive failed"),
    ]
}

/// Renders diagnostics. Plain text unless `color` is set (ANSI escapes for a terminal).
public struct DiagnosticFormatter: Sendable {
    public var color: Bool

    public init(color: Bool = false) { self.color = color }

    public func format(_ d: Diagnostic) -> String {
        var lines: [String] = []
        let label = "\(d.severity.rawValue)[\(d.id)]"
        let head = paint(label, d.severity == .error ? "1;31" : "1;33") + ": " + paint(d.message, "1")
        if let r = d.range {
            lines.append("\(r): " + head)
        } else {
            lines.append(head)
        }
        if let r = d.range, let text = d.sourceLine {
            let number = String(r.line)
            let gutter = String(repeating: " ", count: number.count)
            lines.append(" \(number) | \(text)")
            // Keep tabs in the padding so the caret lines up under tabbed source.
            let prefix = text.unicodeScalars.prefix(max(0, r.column - 1))
            let pad = String(String.UnicodeScalarView(prefix.map { $0 == "\t" ? "\t" : " " }))
            let available = max(1, text.unicodeScalars.count - (r.column - 1))
            let carets = String(repeating: "^", count: max(1, min(r.length, available)))
            lines.append(" \(gutter) | \(pad)" + paint(carets, "1;32"))
        }
        if let hint = d.hint {
            lines.append(paint("hint", "1;36") + ": " + hint)
        }
        // A runaway recursion gathers hundreds of call sites: keep the ends of the chain.
        let notes = d.notes.count > 10 ? Array(d.notes.prefix(5)) + [nil] + Array(d.notes.suffix(3)) : d.notes.map { $0 }
        for note in notes {
            guard let note else {
                lines.append("  ... \(d.notes.count - 8) more")
                continue
            }
            if let r = note.range {
                lines.append("  \(note.message) at \(r)")
            } else {
                lines.append("  \(note.message)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func paint(_ s: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}

/// Edit distance counting a swap of neighbours as one edit (optimal string alignment), for
/// "did you mean" suggestions: `nsmaples` is one edit from `nsamples`.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[x.count][y.count]
}

/// The closest candidate within a distance that grows with the word (a third of its length,
/// at least 1, at most 3); ties go to the first candidate in the order given.
func closestMatch(_ word: String, among candidates: [String]) -> String? {
    let limit = max(1, min(3, word.count / 3))
    var best: (String, Int)?
    for c in candidates where c != word {
        let d = editDistance(word.lowercased(), c.lowercased())
        if d <= limit, best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}
