// The syntax tree: `indirect enum Expr`, `enum Stmt`, and the few structs they hold. Every
// node carries the span of source it came from, for diagnostics and for the session log's
// source text of each statement.

/// Scalar offsets `[start, end)` into a `Source`.
public struct Span: Hashable, Sendable {
    public var start: Int
    public var end: Int

    public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }

    func to(_ other: Span) -> Span { Span(start, max(end, other.end)) }
}

public enum UnaryOp: String, Sendable {
    case negate = "-"
    case not = "not"
}

public enum BinaryOp: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%"
    case power = "**"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case contains = "in", notContains = "not in"

    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual, .contains, .notContains: return true
        default: return false
        }
    }
}

public enum LogicalOp: String, Sendable {
    case and, or
}

/// `name = value` or a plain value in a call's argument list.
public struct Argument {
    public var label: String?
    public var labelSpan: Span?
    public var value: Expr
}

public struct RecordField {
    public var key: String
    public var keySpan: Span
    public var value: Expr
}

public indirect enum Expr {
    /// An int, float, string, bool or `none` literal.
    case literal(Value, Span)
    case name(String, Span)
    case list([Expr], Span)
    case record([RecordField], Span)
    case unary(UnaryOp, Expr, Span)
    case binary(BinaryOp, Expr, Expr, Span)
    case logical(LogicalOp, Expr, Expr, Span)
    /// `a..b`, the integers from a up to but not including b.
    case range(Expr, Expr, Span)
    case call(Expr, [Argument], Span)
    case index(Expr, Expr, Span)
    /// `base[lower:upper:step]`, each part optional.
    case slice(Expr, Expr?, Expr?, Expr?, Span)
    case field(Expr, String, Span)

    public var span: Span {
        switch self {
        case .literal(_, let s), .name(_, let s), .list(_, let s), .record(_, let s), .unary(_, _, let s),
             .binary(_, _, _, let s), .logical(_, _, _, let s), .range(_, _, let s), .call(_, _, let s),
             .index(_, _, let s), .slice(_, _, _, _, let s), .field(_, _, let s):
            return s
        }
    }
}

/// What `=` can assign to: a variable, an element, a field, nested (`r.xs[0] = 1`).
public indirect enum AssignTarget {
    case name(String, Span)
    case index(AssignTarget, Expr, Span)
    case field(AssignTarget, String, Span)

    var rootName: String {
        switch self {
        case .name(let n, _): return n
        case .index(let t, _, _), .field(let t, _, _): return t.rootName
        }
    }

    var span: Span {
        switch self {
        case .name(_, let s), .index(_, _, let s), .field(_, _, let s): return s
        }
    }
}

public struct Parameter {
    public var name: String
    public var defaultValue: Expr?
    public var span: Span
}

/// A `fn` declaration. A class, so every function value made from it shares one copy, and
/// it remembers its source so errors inside the body point into the right file.
public final class FunctionDecl {
    public let name: String
    public let parameters: [Parameter]
    public let body: [Stmt]
    public let span: Span
    public let source: Source

    init(name: String, parameters: [Parameter], body: [Stmt], span: Span, source: Source) {
        self.name = name; self.parameters = parameters; self.body = body; self.span = span; self.source = source
    }
}

public struct ConditionalBranch {
    public var condition: Expr
    public var body: [Stmt]
}

public enum Stmt {
    case expression(Expr, Span)
    /// `target = value`, or `target += value` etc. when the operator is present.
    case assign(AssignTarget, BinaryOp?, Expr, Span)
    case ifElse([ConditionalBranch], [Stmt]?, Span)
    case forIn([String], Expr, [Stmt], Span)
    case whileLoop(Expr, [Stmt], Span)
    case breakLoop(Span)
    case continueLoop(Span)
    case returnValue(Expr?, Span)
    case function(FunctionDecl)
    /// `use "path"`; the second span is the path literal's.
    case use(String, Span, Span)

    public var span: Span {
        switch self {
        case .expression(_, let s), .assign(_, _, _, let s), .ifElse(_, _, let s), .forIn(_, _, _, let s),
             .whileLoop(_, _, let s), .breakLoop(let s), .continueLoop(let s), .returnValue(_, let s),
             .use(_, let s, _):
            return s
        case .function(let f):
            return f.span
        }
    }
}

/// A parsed file or cell.
public struct Program {
    public let source: Source
    public let statements: [Stmt]
}
