// The builtin table: each primitive is one `BuiltinSpec` (name, typed parameters with
// defaults and completers, help, effects, implementation). Argument binding, its errors,
// `help`, completion, the log's argument form and safe mode all come from that declaration.

/// What a builtin does beyond computing its result. Safe mode forbids some of them.
public enum Effect: String, CaseIterable, Sendable, Comparable {
    case readsFiles = "reads files"
    case writesFiles = "writes files"
    case changesModel = "changes a model"
    case shell = "runs a shell command"

    public static func < (a: Effect, b: Effect) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What completion sees of the session.
public struct CompletionEnvironment {
    public var variables: [String: Value]
    public var baseDirectory: String
    public var builtinNames: [String]
}

/// Completes one parameter's value. A completer that works `inString` offers the text inside
/// a string literal (file paths, choices); otherwise it offers names (variables).
public struct Completer {
    public let inString: Bool
    public let complete: (_ prefix: String, _ environment: CompletionEnvironment) -> [String]

    public init(inString: Bool, _ complete: @escaping (String, CompletionEnvironment) -> [String]) {
        self.inString = inString
        self.complete = complete
    }

    /// Paths under the session's base directory; files must end in one of `extensions`
    /// (all files if empty); folders are always offered, with a trailing `/`.
    public static func files(extensions: [String] = []) -> Completer {
        Completer(inString: true) { prefix, env in
            completePaths(prefix, baseDirectory: env.baseDirectory, extensions: extensions)
        }
    }

    public static func choices(_ choices: [String]) -> Completer {
        Completer(inString: true) { prefix, _ in choices.filter { $0.hasPrefix(prefix) } }
    }

    /// Names of variables holding a value of this type ("model", "corpus", "list").
    public static func variables(ofType typeName: String) -> Completer {
        Completer(inString: false) { prefix, env in
            env.variables.filter { $0.key.hasPrefix(prefix) && $0.value.typeName == typeName }.map(\.key).sorted()
        }
    }
}

public struct ParamSpec {
    public var name: String
    public var type: ValueType
    /// nil: the argument is required.
    public var defaultValue: Value?
    /// Collects the remaining positional arguments as a list (`print(a, b, c)`).
    public var isVariadic: Bool
    public var completer: Completer?
    public var help: String

    /// A required parameter.
    public init(_ name: String, _ type: ValueType = .any, completer: Completer? = nil, help: String = "") {
        self.name = name; self.type = type; self.defaultValue = nil; self.isVariadic = false
        self.completer = completer; self.help = help
    }

    /// A parameter with a default (`default: .none` is the language's none, not "no default").
    public init(_ name: String, _ type: ValueType = .any, default value: Value, completer: Completer? = nil,
                help: String = "") {
        self.name = name; self.type = type; self.defaultValue = value; self.isVariadic = false
        self.completer = completer; self.help = help
    }

    /// A variadic parameter: any number of positional arguments, each of `type`.
    public static func variadic(_ name: String, _ type: ValueType = .any, help: String = "") -> ParamSpec {
        var p = ParamSpec(name, type, help: help)
        p.isVariadic = true
        return p
    }

    var isRequired: Bool { defaultValue == nil && !isVariadic }

    /// `name: type = default`, `name: type...`
    var signature: String {
        if isVariadic { return "\(name): \(type)..." }
        if let d = defaultValue { return "\(name): \(type) = \(d.repr)" }
        return "\(name): \(type)"
    }
}

public struct BuiltinSpec {
    public var name: String
    public var params: [ParamSpec]
    public var returns: ValueType
    public var help: String
    public var effects: Set<Effect>
    /// Groups builtins in `help()` and the reference ("general" for the language's own).
    public var category: String
    /// Whether calls appear in the session log. Pure, cheap builtins (len, str) opt out so
    /// a loop does not flood the log; replay re-runs them anyway.
    public var logged: Bool
    public var implementation: (BoundArguments, CallContext) throws -> Value

    public init(_ name: String, _ params: [ParamSpec] = [], returns: ValueType = .any, effects: Set<Effect> = [],
                category: String = "general", logged: Bool = true, help: String,
                implementation: @escaping (BoundArguments, CallContext) throws -> Value) {
        self.name = name; self.params = params; self.returns = returns; self.help = help
        self.effects = effects; self.category = category; self.logged = logged
        self.implementation = implementation
    }

    /// `range(start: int, stop: int or none = none, step: int = 1) -> range`
    public var signature: String {
        "\(name)(\(params.map(\.signature).joined(separator: ", "))) -> \(returns)"
    }

    /// What `help(name)` and `:help name` print, and what the language reference shows.
    public var helpText: String {
        var lines = [signature]
        lines += help.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        for p in params where !p.help.isEmpty {
            lines.append("  \(p.name): \(p.help)")
        }
        if !effects.isEmpty {
            lines.append("  effects: " + effects.sorted().map(\.rawValue).joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

/// An error a builtin throws: the interpreter places it at the named argument (or the call)
/// and renders it like any other diagnostic.
public struct ScriptError: Error, CustomStringConvertible {
    public var id: String
    public var message: String
    public var hint: String?
    /// The parameter to point the caret at.
    public var argument: String?

    public init(_ message: String, id: String = ErrorID.invalidArgument, hint: String? = nil, argument: String? = nil) {
        self.id = id; self.message = message; self.hint = hint; self.argument = argument
    }

    public var description: String { message }
}

/// The arguments of one call, bound to the parameters, defaults applied and types checked.
public struct BoundArguments {
    public let callee: String
    public let names: [String]
    public let values: [Value]
    let spans: [Span?]

    public init(callee: String, names: [String], values: [Value]) {
        self.callee = callee; self.names = names; self.values = values
        self.spans = Array(repeating: nil, count: names.count)
    }

    init(callee: String, names: [String], values: [Value], spans: [Span?]) {
        self.callee = callee; self.names = names; self.values = values; self.spans = spans
    }

    /// Parameter names and values in declaration order, as the session log records them.
    public var resolved: [(name: String, value: Value)] { Array(zip(names, values)) }

    public subscript(name: String) -> Value {
        guard let i = names.firstIndex(of: name) else { preconditionFailure("`\(callee)` has no parameter `\(name)`") }
        return values[i]
    }

    public func isNone(_ name: String) -> Bool {
        if case .none = self[name] { return true }
        return false
    }

    private func mismatch(_ name: String, _ expected: String) -> ScriptError {
        ScriptError("argument `\(name)` of `\(callee)` must be \(expected), got \(self[name].typeName)",
                    id: ErrorID.wrongArgumentType, argument: name)
    }

    public func int(_ name: String) throws -> Int {
        if case .int(let i) = self[name] { return i }
        throw mismatch(name, "int")
    }

    public func double(_ name: String) throws -> Double {
        if let d = self[name].number { return d }
        throw mismatch(name, "number")
    }

    public func string(_ name: String) throws -> String {
        if case .string(let s) = self[name] { return s }
        throw mismatch(name, "string")
    }

    public func bool(_ name: String) throws -> Bool {
        if case .bool(let b) = self[name] { return b }
        throw mismatch(name, "bool")
    }

    /// A list's items, or a range's integers.
    public func list(_ name: String) throws -> [Value] {
        if let xs = self[name].elements { return xs }
        throw mismatch(name, "list")
    }

    public func record(_ name: String) throws -> Record {
        if case .record(let r) = self[name] { return r }
        throw mismatch(name, "record")
    }

    public func host<T>(_ name: String, as type: T.Type) throws -> T {
        if case .host(let h) = self[name], let t = h as? T { return t }
        throw mismatch(name, String(describing: T.self).lowercased())
    }

    public func optionalInt(_ name: String) throws -> Int? { isNone(name) ? nil : try int(name) }
    public func optionalDouble(_ name: String) throws -> Double? { isNone(name) ? nil : try double(name) }
    public func optionalString(_ name: String) throws -> String? { isNone(name) ? nil : try string(name) }

    /// A list of numbers (ints converted).
    public func doubles(_ name: String) throws -> [Double] {
        let xs = try list(name)
        return try xs.map {
            guard let d = $0.number else {
                throw ScriptError("argument `\(name)` of `\(callee)` must be a list of numbers, found \($0.typeName)",
                                  id: ErrorID.wrongArgumentType, argument: name)
            }
            return d
        }
    }
}

/// The registry the interpreter consults. The general builtins are registered by
/// `Builtins.general()`; the host adds its primitives with `register`.
public final class Builtins {
    private var specs: [String: BuiltinSpec] = [:]
    public private(set) var names: [String] = []

    public init() {}

    /// A registry holding the language's general builtins.
    public static func general() -> Builtins {
        let b = Builtins()
        b.register(generalBuiltins())
        return b
    }

    /// Adds a builtin, replacing one of the same name.
    public func register(_ spec: BuiltinSpec) {
        if specs.updateValue(spec, forKey: spec.name) == nil { names.append(spec.name) }
    }

    public func register(_ list: [BuiltinSpec]) { list.forEach(register) }

    public subscript(name: String) -> BuiltinSpec? { specs[name] }

    public var all: [BuiltinSpec] { names.map { specs[$0]! } }

    public func helpText(_ name: String) -> String? { specs[name]?.helpText }

    /// Binds plain values (no source positions) the way a call would, for hosts and tests.
    public func bind(_ name: String, _ positional: [Value], keywords: [(String, Value)] = []) throws -> BoundArguments {
        guard let spec = specs[name] else { throw ScriptError("unknown function `\(name)`", id: ErrorID.unknownFunction) }
        let args = positional.map { CallArgument(label: nil, labelSpan: nil, value: $0, span: Span(0, 0)) }
            + keywords.map { CallArgument(label: $0.0, labelSpan: Span(0, 0), value: $0.1, span: Span(0, 0)) }
        do {
            return try ArgumentBinder.bind(spec.params, callee: name, usage: spec.signature, args: args, callSpan: Span(0, 0))
        } catch let e as BindingError {
            throw ScriptError(e.message, id: e.id, hint: e.hint)
        }
    }

    /// The reference section for one category: each builtin's help text in a code block.
    public func markdownReference(category: String = "general") -> String {
        all.filter { $0.category == category }.map { "### `\($0.name)`\n\n```text\n\($0.helpText)\n```\n" }
            .joined(separator: "\n")
    }
}

// MARK: Binding

/// One evaluated argument of a call, with where it was written.
struct CallArgument {
    var label: String?
    var labelSpan: Span?
    var value: Value
    var span: Span
}

/// An argument error found before the call, placed at an argument or the whole call.
struct BindingError: Error {
    var id: String
    var message: String
    var hint: String?
    var span: Span
}

enum ArgumentBinder {
    /// Binds positional then keyword arguments to `params`, applies defaults and checks types.
    /// `usage` (the callee's signature) becomes the hint of arity errors.
    static func bind(_ params: [ParamSpec], callee: String, usage: String, args: [CallArgument],
                     callSpan: Span, checkTypes: Bool = true) throws -> BoundArguments {
        var slots = [Value?](repeating: nil, count: params.count)
        var spans = [Span?](repeating: nil, count: params.count)
        let variadic = params.firstIndex { $0.isVariadic }
        var rest: [Value] = []
        var restSpans: [Span] = []
        let positional = args.filter { $0.label == nil }
        let fixed = params.prefix(variadic ?? params.count).count
        for (k, a) in positional.enumerated() {
            if k < fixed {
                slots[k] = a.value
                spans[k] = a.span
            } else if variadic != nil {
                rest.append(a.value)
                restSpans.append(a.span)
            } else {
                let required = params.filter(\.isRequired).count
                let takes: String
                if fixed == 0 {
                    takes = "takes no arguments"
                } else if required == fixed {
                    takes = "takes \(fixed) argument\(fixed == 1 ? "" : "s")"
                } else {
                    takes = "takes at most \(fixed) argument\(fixed == 1 ? "" : "s")"
                }
                throw BindingError(id: ErrorID.tooManyArguments, message: "`\(callee)` \(takes), got \(positional.count)",
                                   hint: "usage: \(usage)", span: a.span)
            }
        }
        for a in args {
            guard let label = a.label else { continue }
            let labelSpan = a.labelSpan ?? a.span
            guard let i = params.firstIndex(where: { $0.name == label }) else {
                let names = params.filter { !$0.isVariadic }.map(\.name)
                if let guess = closestMatch(label, among: names) {
                    throw BindingError(id: ErrorID.unknownKeyword, message: "unknown keyword `\(label)`, did you mean `\(guess)`?",
                                       hint: "usage: \(usage)", span: labelSpan)
                }
                throw BindingError(id: ErrorID.unknownKeyword, message: "unknown keyword `\(label)` for `\(callee)`",
                                   hint: "usage: \(usage)", span: labelSpan)
            }
            if params[i].isVariadic {
                throw BindingError(id: ErrorID.unknownKeyword,
                                   message: "`\(label)` of `\(callee)` takes positional arguments only",
                                   hint: "usage: \(usage)", span: labelSpan)
            }
            if slots[i] != nil {
                throw BindingError(id: ErrorID.duplicateArgument, message: "argument `\(label)` of `\(callee)` given twice",
                                   hint: "it is also given by position", span: labelSpan)
            }
            slots[i] = a.value
            spans[i] = a.span
        }
        var values: [Value] = []
        for (i, p) in params.enumerated() {
            if p.isVariadic {
                values.append(.list(rest))
                if checkTypes, let bad = rest.firstIndex(where: { !p.type.accepts($0) }) {
                    throw BindingError(id: ErrorID.wrongArgumentType,
                                       message: "argument `\(p.name)` of `\(callee)` must be \(p.type), got \(rest[bad].typeName)",
                                       hint: nil, span: restSpans[bad])
                }
                spans[i] = restSpans.first.map { $0.to(restSpans.last!) }
                continue
            }
            if let v = slots[i] {
                if checkTypes, !p.type.accepts(v) {
                    throw BindingError(id: ErrorID.wrongArgumentType,
                                       message: "argument `\(p.name)` of `\(callee)` must be \(p.type), got \(describeType(v, expected: p.type))",
                                       hint: nil, span: spans[i] ?? callSpan)
                }
                values.append(v)
            } else if let d = p.defaultValue {
                values.append(d)
            } else {
                throw BindingError(id: ErrorID.missingArgument, message: "missing argument `\(p.name)` for `\(callee)`",
                                   hint: "usage: \(usage)", span: callSpan)
            }
        }
        return BoundArguments(callee: callee, names: params.map(\.name), values: values, spans: spans)
    }

    /// "list" normally, but "list containing string" when a list of the wrong elements was given.
    private static func describeType(_ v: Value, expected: ValueType) -> String {
        if case .list(let xs) = v, case .listOf(let t) = expected, let bad = xs.first(where: { !t.accepts($0) }) {
            return "list containing \(bad.typeName)"
        }
        if case .list(let xs) = v, case .oneOf(let ts) = expected,
           let t = ts.compactMap({ if case .listOf(let e) = $0 { return e } else { return nil } }).first,
           let bad = xs.first(where: { !t.accepts($0) }) {
            return "list containing \(bad.typeName)"
        }
        return v.typeName
    }
}
