// Values of the language: `enum Value` (none, bool, int, float, string, list, record, range,
// fn, builtin, host object), the `HostObject` protocol the host's models and corpora adopt,
// the `ValueType`s builtin parameters declare, equality, ordering and the printed forms.

/// Something the host owns (a model, a corpus, scores). The language reads its fields, shows
/// its summary and logs its fingerprint; it never looks inside.
public protocol HostObject: AnyObject {
    /// The type name errors and `type(x)` use: "model", "corpus", "scores".
    var typeName: String { get }
    /// One line, shown where the object appears inside a list or record.
    var summary: String { get }
    /// The names `field` answers, for completion after a dot and for error hints.
    var fieldNames: [String] { get }
    func field(_ name: String) -> Value?
    /// SHA-256 hex of the object's content, for the session log; nil if it has none.
    /// Computing it may be costly; objects should cache it.
    var fingerprint: String? { get }
    /// The full display of the object as the value of a statement (a table, a chart).
    func render(_ options: DisplayOptions) -> String
}

extension HostObject {
    public var fingerprint: String? { nil }
    public func render(_ options: DisplayOptions) -> String { summary }
}

/// How values are shown: `terminal` selects Unicode box drawing and bar blocks; otherwise
/// output is plain (Markdown tables, `#` bars) for files and notebooks.
public struct DisplayOptions: Sendable {
    public var terminal: Bool
    /// Width of the bar in a bar chart, in characters.
    public var barWidth: Int

    public init(terminal: Bool = false, barWidth: Int = 40) {
        self.terminal = terminal; self.barWidth = barWidth
    }
}

public enum Value {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case record(Record)
    case range(RangeValue)
    case function(Function)
    /// A builtin, by its name in the registry (`f = len` makes one).
    case builtin(String)
    case host(HostObject)

    public var typeName: String {
        switch self {
        case .none: return "none"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .list: return "list"
        case .record: return "record"
        case .range: return "range"
        case .function, .builtin: return "function"
        case .host(let h): return h.typeName
        }
    }

    /// The number as a Double, for ints and floats.
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let d): return d
        default: return nil
        }
    }

    /// The elements of a list or range, nil for other values.
    public var elements: [Value]? {
        switch self {
        case .list(let xs): return xs
        case .range(let r): return r.map { .int($0) }
        default: return nil
        }
    }
}

/// Fields in the order they were written; `r.name` reads one.
public struct Record {
    public private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    public init() {}

    public init(_ fields: [(String, Value)]) {
        for (k, v) in fields { self[k] = v }
    }

    public subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let v = newValue {
                if storage.updateValue(v, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Changes a field's value in place (keeping its position); the field must exist.
    mutating func modify(_ key: String, _ body: (inout Value) throws -> Void) rethrows {
        try body(&storage[key]!)
    }

    public var count: Int { keys.count }
    public var fields: [(key: String, value: Value)] { keys.map { ($0, storage[$0]!) } }
}

/// `range(start, stop, step)`: the integers from start towards stop (exclusive) by step.
public struct RangeValue: Sequence, Hashable, Sendable {
    public let start: Int
    public let stop: Int
    public let step: Int

    public init(start: Int, stop: Int, step: Int = 1) {
        precondition(step != 0)
        self.start = start; self.stop = stop; self.step = step
    }

    public var count: Int {
        if step > 0 { return start < stop ? Int((Int64(stop) - Int64(start) - 1) / Int64(step)) + 1 : 0 }
        return start > stop ? Int((Int64(start) - Int64(stop) - 1) / Int64(-step)) + 1 : 0
    }

    public subscript(i: Int) -> Int { start + i * step }

    public func contains(_ v: Int) -> Bool {
        let k = v.subtractingReportingOverflow(start)
        guard !k.overflow, k.partialValue % step == 0 else { return false }
        let n = k.partialValue / step
        return n >= 0 && n < count
    }

    public func makeIterator() -> AnyIterator<Int> {
        var i = 0
        let n = count
        return AnyIterator { () -> Int? in
            guard i < n else { return nil }
            defer { i += 1 }
            return self[i]
        }
    }
}

/// A scope of local variables: a fn call's frame, whose parent is the scope the fn was
/// defined in (nil at top level, meaning the globals).
final class Scope {
    var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }
}

/// A `fn` value: the declaration, its defaults evaluated where it was defined, and the scope
/// it closes over.
public final class Function {
    let decl: FunctionDecl
    let defaults: [Value?]
    let closure: Scope?

    init(decl: FunctionDecl, defaults: [Value?], closure: Scope?) {
        self.decl = decl; self.defaults = defaults; self.closure = closure
    }

    public var name: String { decl.name }
    public var parameterNames: [String] { decl.parameters.map(\.name) }

    /// `f(a, b=2)`
    public var signature: String {
        let ps = zip(decl.parameters, defaults).map { p, d in d.map { "\(p.name)=\($0.repr)" } ?? p.name }
        return "\(name)(\(ps.joined(separator: ", ")))"
    }

    var parameterSpecs: [ParamSpec] {
        zip(decl.parameters, defaults).map { p, d in
            d.map { ParamSpec(p.name, .any, default: $0) } ?? ParamSpec(p.name, .any)
        }
    }
}

// MARK: Types that builtin parameters declare

public indirect enum ValueType: Hashable, Sendable, CustomStringConvertible {
    case any
    case none
    case bool
    case int
    /// A float; an int is accepted and converted.
    case float
    /// An int or a float (accepted like `.float`, named "number" in messages).
    case number
    case string
    case listOf(ValueType)
    case record
    case range
    case function
    /// A host object whose `typeName` is this ("model", "table").
    case host(String)
    case oneOf([ValueType])

    public static let list = ValueType.listOf(.any)
    /// Anything `for` can walk: list, range, string, record.
    public static let iterable = ValueType.oneOf([.list, .range, .string, .record])
    public static func optional(_ t: ValueType) -> ValueType { .oneOf([t, .none]) }

    public func accepts(_ v: Value) -> Bool {
        switch (self, v) {
        case (.any, _), (.none, .none), (.bool, .bool), (.int, .int), (.float, .float), (.float, .int),
             (.number, .float), (.number, .int),
             (.string, .string), (.record, .record), (.range, .range), (.function, .function), (.function, .builtin):
            return true
        case (.listOf(let t), .list(let xs)):
            return t == .any || xs.allSatisfy(t.accepts)
        case (.listOf(let t), .range):
            return t == .any || t == .int || t == .float || t == .number
        case (.host(let name), .host(let h)):
            return h.typeName == name
        case (.oneOf(let ts), _):
            return ts.contains { $0.accepts(v) }
        default:
            return false
        }
    }

    public var description: String {
        switch self {
        case .any: return "any"
        case .none: return "none"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .number: return "number"
        case .string: return "string"
        case .listOf(.any): return "list"
        case .listOf(let t): return "list of \(t)"
        case .record: return "record"
        case .range: return "range"
        case .function: return "function"
        case .host(let n): return n
        case .oneOf(let ts): return ts.map(\.description).joined(separator: " or ")
        }
    }
}

// MARK: Equality and order

extension Value: Equatable {
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.int(let x), .float(let y)), (.float(let y), .int(let x)): return Double(x) == y
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.record(let x), .record(let y)):
            return x.count == y.count && x.fields.allSatisfy { y[$0.key] == $0.value }
        case (.range(let x), .range(let y)):
            return x.count == y.count && (x.count == 0 || (x[0] == y[0] && (x.count == 1 || x.step == y.step)))
        case (.function(let x), .function(let y)): return x === y
        case (.builtin(let x), .builtin(let y)): return x == y
        case (.host(let x), .host(let y)): return x === y
        default: return false
        }
    }

    /// Order for `<` and `sort`: numbers, strings, bools and lists (lexicographic); nil when
    /// the two cannot be compared.
    static func compare(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.string(let x), .string(let y)):
            let xs = Array(x.unicodeScalars), ys = Array(y.unicodeScalars)
            return xs.lexicographicallyPrecedes(ys) ? -1 : (xs == ys ? 0 : 1)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.list(let x), .list(let y)):
            for (p, q) in zip(x, y) {
                guard let c = compare(p, q) else { return nil }
                if c != 0 { return c }
            }
            return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
        default:
            guard let x = a.number, let y = b.number, !x.isNaN, !y.isNaN else { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        }
    }
}

// MARK: Printed forms

extension Value: CustomStringConvertible {
    /// What `print` and `str` show: a string as its text, anything else as `repr`.
    public var description: String {
        if case .string(let s) = self { return s }
        return repr
    }

    /// The source-like form: strings quoted and escaped, lists and records in full.
    public var repr: String { render(limit: nil) }

    /// The compact form for a statement's value (`Out[n]`): long lists are elided, and a host
    /// object shows its full rendering (a table, a chart).
    public func display(_ options: DisplayOptions = DisplayOptions()) -> String {
        if case .host(let h) = self { return h.render(options) }
        return render(limit: Value.displayLimit)
    }

    /// Lists and records longer than this show their first `displayHead` items and a count.
    static let displayLimit = 20
    static let displayHead = 10

    func render(limit: Int?) -> String {
        switch self {
        case .none: return "none"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let d): return formatFloat(d)
        case .string(let s): return quoted(s)
        case .list(let xs):
            return "[" + elided(xs.map { $0.render(limit: limit) }, limit: limit) + "]"
        case .record(let r):
            let parts = r.fields.map { (isIdentifier($0.key) ? $0.key : quoted($0.key)) + ": " + $0.value.render(limit: limit) }
            return "{" + elided(parts, limit: limit) + "}"
        case .range(let r):
            return r.step == 1 ? "range(\(r.start), \(r.stop))" : "range(\(r.start), \(r.stop), \(r.step))"
        case .function(let f): return "<fn \(f.signature)>"
        case .builtin(let name): return "<builtin \(name)>"
        case .host(let h): return h.summary
        }
    }

    private func elided(_ parts: [String], limit: Int?) -> String {
        guard let limit, parts.count > limit else { return parts.joined(separator: ", ") }
        return parts.prefix(Value.displayHead).joined(separator: ", ") + ", ... \(parts.count - Value.displayHead) more"
    }
}

/// The shortest text that reads back as the same Double (`0.1`, `1e-05`, `3.0`, `nan`, `inf`).
public func formatFloat(_ d: Double) -> String {
    d.description
}

/// A string in double quotes with the language's escapes, as a literal would be written.
public func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\0": out += "\\0"
        default:
            if c.value < 0x20 || c.value == 0x7F {
                out += "\\u{" + String(c.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    return out + "\""
}
