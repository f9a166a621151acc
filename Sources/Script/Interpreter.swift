// The tree-walking interpreter: statements and expressions by exhaustive `switch`, fn
// calls with their own scope (closing over where they were defined), `use` of other files,
// builtin calls through the registry, and runtime errors placed at the span that caused them.

import Foundation

/// A runtime error on its way out, gathering call sites as it passes through fn and use.
struct RuntimeFailure: Error {
    var diagnostic: Diagnostic
}

enum Flow {
    case normal
    case breakLoop
    case continueLoop
    case returned(Value)
}

final class Interpreter {
    var globals: [String: Value] = [:]
    let builtins: Builtins
    var output: OutputSink
    let cancellation: CancellationFlag
    var scriptArguments: [String] = []
    var displayOptions = DisplayOptions()
    var baseDirectory: String
    /// nil: every effect allowed; otherwise builtins with other effects refuse to run.
    var allowedEffects: Set<Effect>?
    var maxCallDepth = 200

    /// The locals of the running fn; nil at top level, where variables are the globals.
    var scope: Scope?
    /// The file (or cell) whose code is running, for placing errors.
    var currentSource: Source
    private var callDepth = 0
    /// Files being run by `use` (and the script itself), resolved paths and display names.
    var useStack: [(path: String, name: String)] = []
    /// The session log's facts for the top-level statement being run.
    var facts: StatementFacts?

    init(builtins: Builtins, output: OutputSink, cancellation: CancellationFlag, baseDirectory: String) {
        self.builtins = builtins
        self.output = output
        self.cancellation = cancellation
        self.baseDirectory = baseDirectory
        self.currentSource = Source(file: "<none>", text: "")
    }

    func fail(_ id: String, _ message: String, _ span: Span, hint: String? = nil) -> RuntimeFailure {
        RuntimeFailure(diagnostic: currentSource.diagnostic(id, message, at: span, hint: hint))
    }

    private func located(_ e: ScriptError, _ span: Span) -> RuntimeFailure {
        fail(e.id, e.message, span, hint: e.hint)
    }

    func checkCancelled() throws {
        if cancellation.isSet { throw Interrupted() }
    }

    // MARK: Variables

    func lookup(_ name: String) -> Value? {
        var s = scope
        while let frame = s {
            if let v = frame.variables[name] { return v }
            s = frame.parent
        }
        if let v = globals[name] { return v }
        if builtins[name] != nil { return .builtin(name) }
        return nil
    }

    /// Assignment makes or updates a variable of the innermost scope.
    func setVariable(_ name: String, _ value: Value) {
        if let s = scope { s.variables[name] = value } else { globals[name] = value }
    }

    /// The names visible here, for "did you mean" hints.
    func visibleNames() -> [String] {
        var names: [String] = []
        var s = scope
        while let frame = s { names += frame.variables.keys.sorted(); s = frame.parent }
        return names + globals.keys.sorted() + builtins.names
    }

    private func undefined(_ name: String, _ span: Span, call: Bool) -> RuntimeFailure {
        let guess = closestMatch(name, among: call ? callableNames() : visibleNames())
        return fail(call ? ErrorID.unknownFunction : ErrorID.undefinedVariable,
                    call ? "unknown function `\(name)`" : "undefined variable `\(name)`", span,
                    hint: guess.map { "did you mean `\($0)`?" })
    }

    private func callableNames() -> [String] {
        visibleNames().filter { n in
            switch lookup(n) { case .function?, .builtin?: return true; default: return false }
        }
    }

    // MARK: Statements

    func exec(_ statements: [Stmt]) throws -> Flow {
        for s in statements {
            let flow = try exec(s)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    func exec(_ statement: Stmt) throws -> Flow {
        switch statement {
        case .expression(let e, _):
            _ = try eval(e)
        case .assign(let target, let op, let valueExpr, let span):
            var value = try eval(valueExpr)
            if op == .add, appendInPlace(target, value) { return .normal }
            if let op {
                let old = try eval(targetExpression(target))
                value = try binary(op, old, value, span)
            }
            try assign(target, value)
        case .ifElse(let branches, let elseBody, _):
            for b in branches {
                if try condition(b.condition, "if") { return try exec(b.body) }
            }
            if let elseBody { return try exec(elseBody) }
        case .forIn(let names, let iterable, let body, _):
            let seq = try eval(iterable)
            var flow = Flow.normal
            try forEachElement(of: seq, at: iterable.span) { item in
                try checkCancelled()
                try bindLoopVariables(names, item, iterable.span)
                switch try exec(body) {
                case .breakLoop: return false
                case .returned(let v): flow = .returned(v); return false
                case .normal, .continueLoop: return true
                }
            }
            return flow
        case .whileLoop(let cond, let body, _):
            while try condition(cond, "while") {
                try checkCancelled()
                switch try exec(body) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                case .normal, .continueLoop: continue
                }
            }
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .returnValue(let e, _):
            return .returned(try e.map(eval) ?? .none)
        case .function(let decl):
            let defaults = try decl.parameters.map { try $0.defaultValue.map(eval) }
            setVariable(decl.name, .function(Function(decl: decl, defaults: defaults, closure: scope)))
        case .use(let path, let span, let pathSpan):
            try use(path, span: span, pathSpan: pathSpan)
        }
        return .normal
    }

    private func condition(_ e: Expr, _ keyword: String) throws -> Bool {
        let v = try eval(e)
        guard case .bool(let b) = v else {
            throw fail(ErrorID.notBool, "the condition of `\(keyword)` must be a bool, got \(v.typeName)", e.span,
                       hint: conditionHint(v))
        }
        return b
    }

    private func conditionHint(_ v: Value) -> String? {
        switch v {
        case .int, .float: return "compare it: `x != 0`"
        case .list, .string: return "test the length: `len(x) > 0`"
        case .none: return "test it: `x != none`"
        default: return nil
        }
    }

    /// Calls `body` with each element of a list, range, string (characters) or record (keys)
    /// until it returns false.
    private func forEachElement(of seq: Value, at span: Span, _ body: (Value) throws -> Bool) throws {
        switch seq {
        case .list(let xs):
            for x in xs { if !(try body(x)) { return } }
        case .range(let r):
            for i in r { if !(try body(.int(i))) { return } }
        case .string(let s):
            for c in s { if !(try body(.string(String(c)))) { return } }
        case .record(let r):
            for k in r.keys { if !(try body(.string(k))) { return } }
        default:
            throw fail(ErrorID.notIterable, "cannot iterate over \(seq.typeName)", span,
                       hint: seq.number != nil ? "use `range(n)` to count" : nil)
        }
    }

    private func bindLoopVariables(_ names: [String], _ item: Value, _ span: Span) throws {
        if names.count == 1 { setVariable(names[0], item); return }
        guard let parts = item.elements else {
            throw fail(ErrorID.cannotUnpack, "cannot unpack \(item.typeName) into \(names.count) variables", span)
        }
        guard parts.count == names.count else {
            throw fail(ErrorID.cannotUnpack, "cannot unpack a list of \(parts.count) into \(names.count) variables", span)
        }
        for (n, v) in zip(names, parts) { setVariable(n, v) }
    }

    // MARK: Assignment

    private func targetExpression(_ t: AssignTarget) -> Expr {
        switch t {
        case .name(let n, let s): return .name(n, s)
        case .index(let base, let i, let s): return .index(targetExpression(base), i, s)
        case .field(let base, let f, let s): return .field(targetExpression(base), f, s)
        }
    }

    private enum PathStep {
        case index(Value, Span)
        case field(String, Span)
    }

    private func assign(_ target: AssignTarget, _ value: Value) throws {
        if case .name(let n, _) = target { setVariable(n, value); return }
        var steps: [PathStep] = []
        var t = target
        while true {
            switch t {
            case .name: break
            case .index(let base, let i, let s): steps.append(.index(try eval(i), s)); t = base; continue
            case .field(let base, let f, let s): steps.append(.field(f, s)); t = base; continue
            }
            break
        }
        steps.reverse()
        guard case .name(let root, let rootSpan) = t else { return }
        // Take the value out of its scope while changing it, so the arrays inside are
        // uniquely referenced and change in place; `update` leaves it as it was on error.
        var frame = scope
        while let f = frame, f.variables[root] == nil { frame = f.parent }
        var container = Value.none
        if let frame {
            container = frame.variables.removeValue(forKey: root)!
        } else if let v = globals.removeValue(forKey: root) {
            container = v
        } else {
            throw undefined(root, rootSpan, call: false)
        }
        defer { if let frame { frame.variables[root] = container } else { globals[root] = container } }
        try update(&container, steps[...], value)
    }

    /// `xs += [x]` on a list variable appends in place instead of building a new list.
    private func appendInPlace(_ target: AssignTarget, _ value: Value) -> Bool {
        guard case .name(let n, _) = target, case .list(let extra) = value else { return false }
        if let s = scope {
            guard case .list(var xs)? = s.variables[n] else { return false }
            s.variables[n] = Value.none
            xs += extra
            s.variables[n] = .list(xs)
        } else {
            guard case .list(var xs)? = globals[n] else { return false }
            globals[n] = Value.none
            xs += extra
            globals[n] = .list(xs)
        }
        return true
    }

    /// Sets the part of `container` that `steps` lead to. Nothing changes unless every step
    /// is valid: the one write happens at the end of the path.
    private func update(_ container: inout Value, _ steps: ArraySlice<PathStep>, _ value: Value) throws {
        guard let step = steps.first else { container = value; return }
        let rest = steps.dropFirst()
        switch step {
        case .field(let name, let span):
            try updateField(&container, name, span, rest, value)
        case .index(let i, let span):
            if case .record = container, case .string(let name) = i {
                try updateField(&container, name, span, rest, value)
            } else if case .record = container, case .int(let n) = i {
                // As when reading, an int index names the field spelled by its digits.
                try updateField(&container, String(n), span, rest, value)
            } else if case .list(var xs) = container {
                // No tuple `switch` here: a temporary copy would keep the array shared.
                let k = try Operators.position(i, count: xs.count, of: "list").get(orThrow: { located($0, span) })
                container = .none
                defer { container = .list(xs) }
                try update(&xs[k], rest, value)
            } else if case .host(let h) = container {
                throw fail(ErrorID.cannotAssign, "cannot assign into a \(h.typeName)", span,
                           hint: "host objects change only through builtins")
            } else if case .string = container {
                throw fail(ErrorID.cannotAssign, "cannot assign to an element of a string", span,
                           hint: "build a new string, e.g. with slices and `+`")
            } else {
                throw fail(ErrorID.cannotAssign, "cannot assign to an element of \(container.typeName)"
                           + (i.typeName == "int" ? "" : " with a \(i.typeName) index"), span)
            }
        }
    }

    private func updateField(_ container: inout Value, _ name: String, _ span: Span, _ rest: ArraySlice<PathStep>,
                             _ value: Value) throws {
        guard case .record(var r) = container else {
            if case .host(let h) = container {
                throw fail(ErrorID.cannotAssign, "cannot assign into a \(h.typeName)", span,
                           hint: "host objects change only through builtins")
            }
            throw fail(ErrorID.cannotAssign, "cannot assign to field `\(name)` of \(container.typeName)", span)
        }
        guard r[name] != nil else {
            guard rest.isEmpty else { throw fail(ErrorID.noSuchField, "record has no field `\(name)`", span) }
            container = .none
            r[name] = value
            container = .record(r)
            return
        }
        container = .none
        defer { container = .record(r) }
        try r.modify(name) { try update(&$0, rest, value) }
    }

    // MARK: Expressions

    func eval(_ e: Expr) throws -> Value {
        switch e {
        case .literal(let v, _):
            return v
        case .name(let n, let span):
            guard let v = lookup(n) else { throw undefined(n, span, call: false) }
            return v
        case .list(let items, _):
            return .list(try items.map(eval))
        case .record(let fields, _):
            var r = Record()
            for f in fields { r[f.key] = try eval(f.value) }
            return .record(r)
        case .unary(let op, let operand, let span):
            let v = try eval(operand)
            return try Operators.unary(op, v).get(orThrow: { located($0, span) })
        case .binary(let op, let l, let r, let span):
            let a = try eval(l), b = try eval(r)
            return try binary(op, a, b, span)
        case .logical(let op, let l, let r, _):
            let a = try logicalOperand(l, op)
            if op == .and && !a { return .bool(false) }
            if op == .or && a { return .bool(true) }
            return .bool(try logicalOperand(r, op))
        case .range(let l, let r, let span):
            let a = try eval(l), b = try eval(r)
            guard case .int(let lo) = a, case .int(let hi) = b else {
                throw fail(ErrorID.unsupportedOperands, "`..` needs two ints, got \(a.typeName) and \(b.typeName)", span)
            }
            return .range(RangeValue(start: lo, stop: hi))
        case .call(let calleeExpr, let args, let span):
            let callee: Value
            if case .name(let n, let nameSpan) = calleeExpr {
                guard let v = lookup(n) else { throw undefined(n, nameSpan, call: true) }
                callee = v
            } else {
                callee = try eval(calleeExpr)
            }
            var evaluated: [CallArgument] = []
            for a in args {
                evaluated.append(CallArgument(label: a.label, labelSpan: a.labelSpan, value: try eval(a.value), span: a.value.span))
            }
            if case .name(let n, _) = calleeExpr, !isCallable(callee) {
                throw fail(ErrorID.notCallable, "`\(n)` is not a function, it holds \(callee.typeName)", calleeExpr.span,
                           hint: builtins[n] != nil ? "a variable named `\(n)` hides the builtin" : nil)
            }
            return try callValue(callee, evaluated, span: span, from: nil)
        case .index(let base, let index, let span):
            let b = try eval(base), i = try eval(index)
            return try Operators.index(b, i).get(orThrow: { located($0, span) })
        case .slice(let base, let lo, let hi, let step, let span):
            let b = try eval(base)
            let parts = try [lo, hi, step].map { try $0.map(eval) }
            return try Operators.slice(b, parts[0], parts[1], parts[2]).get(orThrow: { located($0, span) })
        case .field(let base, let name, let span):
            return try field(try eval(base), name, span)
        }
    }

    func binary(_ op: BinaryOp, _ a: Value, _ b: Value, _ span: Span) throws -> Value {
        try Operators.binary(op, a, b).get(orThrow: { located($0, span) })
    }

    private func logicalOperand(_ e: Expr, _ op: LogicalOp) throws -> Bool {
        let v = try eval(e)
        guard case .bool(let b) = v else {
            throw fail(ErrorID.notBool, "`\(op.rawValue)` needs bool operands, got \(v.typeName)", e.span, hint: conditionHint(v))
        }
        return b
    }

    func field(_ v: Value, _ name: String, _ span: Span) throws -> Value {
        let names: [String]
        switch v {
        case .record(let r):
            if let x = r[name] { return x }
            names = r.keys
        case .host(let h):
            if let x = h.field(name) { return x }
            names = h.fieldNames
        default:
            throw fail(ErrorID.noSuchField, "\(v.typeName) has no field `\(name)`", span,
                       hint: v.typeName == "string" || v.typeName == "list" ? "use `len(x)` for its length" : nil)
        }
        var hint: String?
        if let guess = closestMatch(name, among: names) {
            hint = "did you mean `\(guess)`?"
        } else if !names.isEmpty, names.count <= 12 {
            hint = "its fields are: " + names.joined(separator: ", ")
        }
        throw fail(ErrorID.noSuchField, "\(v.typeName) has no field `\(name)`", span, hint: hint)
    }

    // MARK: Calls

    private func isCallable(_ v: Value) -> Bool {
        switch v { case .function, .builtin: return true; default: return false }
    }

    /// Calls a fn or builtin value; `from` names the builtin calling back (`sort`'s key).
    func callValue(_ callee: Value, _ args: [CallArgument], span: Span, from: String?) throws -> Value {
        switch callee {
        case .builtin(let name):
            guard let spec = builtins[name] else { throw fail(ErrorID.unknownFunction, "unknown function `\(name)`", span) }
            return try callBuiltin(spec, args, span)
        case .function(let f):
            return try callFunction(f, args, span, from: from)
        default:
            throw fail(ErrorID.notCallable, "\(callee.typeName) is not a function", span)
        }
    }

    private func callBuiltin(_ spec: BuiltinSpec, _ args: [CallArgument], _ span: Span) throws -> Value {
        if let allowed = allowedEffects, let bad = spec.effects.subtracting(allowed).sorted().first {
            throw fail(ErrorID.effectForbidden, "`\(spec.name)` \(bad.rawValue), which this session does not allow", span,
                       hint: "the session runs in safe mode")
        }
        let bound: BoundArguments
        do {
            bound = try ArgumentBinder.bind(spec.params, callee: spec.name, usage: spec.signature, args: args, callSpan: span)
        } catch let e as BindingError {
            throw fail(e.id, e.message, e.span, hint: e.hint)
        }
        let record = spec.logged ? facts?.begin(spec.name, bound) : nil
        let ctx = CallContext(callee: spec.name, interpreter: self, callSpan: span, record: record)
        do {
            let result = try spec.implementation(bound, ctx)
            facts?.finish(record, result: result)
            return result
        } catch let e as ScriptError {
            let at = e.argument.flatMap { name in bound.names.firstIndex(of: name).flatMap { bound.spans[$0] } } ?? span
            throw located(e, at)
        } catch let e as RuntimeFailure {
            throw e
        } catch let e as Interrupted {
            throw e
        } catch {
            throw fail(ErrorID.hostError, "`\(spec.name)` failed: \(describe(error))", span)
        }
    }

    private func callFunction(_ f: Function, _ args: [CallArgument], _ span: Span, from: String?) throws -> Value {
        guard callDepth < maxCallDepth else {
            throw fail(ErrorID.recursionTooDeep, "too many nested calls (more than \(maxCallDepth))", span,
                       hint: "does `\(f.name)` call itself without end?")
        }
        try checkCancelled()
        let bound: BoundArguments
        do {
            bound = try ArgumentBinder.bind(f.parameterSpecs, callee: f.name, usage: "fn " + f.signature, args: args,
                                            callSpan: span, checkTypes: false)
        } catch let e as BindingError {
            throw fail(e.id, e.message, e.span, hint: e.hint)
        }
        let frame = Scope(parent: f.closure)
        for (n, v) in bound.resolved { frame.variables[n] = v }
        let callSite = currentSource.range(span)
        let (savedScope, savedSource) = (scope, currentSource)
        scope = frame
        currentSource = f.decl.source
        callDepth += 1
        defer { scope = savedScope; currentSource = savedSource; callDepth -= 1 }
        do {
            if case .returned(let v) = try exec(f.decl.body) { return v }
            return .none
        } catch var e as RuntimeFailure {
            e.diagnostic.notes.append(DiagnosticNote(from.map { "in fn \(f.name) called by `\($0)`" } ?? "in fn \(f.name)",
                                                     at: callSite))
            throw e
        }
    }

    // MARK: use

    func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/") { return NSString(string: path).expandingTildeInPath }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardized.path
    }

    /// `use "lib.come"` runs the file in the globals. Relative paths are taken from the
    /// folder of the file that says `use`; a file already on the use stack is a cycle.
    private func use(_ path: String, span: Span, pathSpan: Span) throws {
        let (fsPath, name) = useTarget(path)
        if let k = useStack.firstIndex(where: { $0.path == fsPath }) {
            let chain = (useStack[k...].map(\.name) + [name]).joined(separator: " → ")
            throw fail(ErrorID.cyclicUse, "cyclic use: \(chain)", pathSpan)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: fsPath, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw fail(ErrorID.cannotReadFile, "cannot read `\(path)`: no such file", pathSpan,
                       hint: "paths in `use` are relative to the file that uses them")
        }
        guard let data = FileManager.default.contents(atPath: fsPath), let text = String(data: data, encoding: .utf8) else {
            throw fail(ErrorID.cannotReadFile, "cannot read `\(path)`: not a readable UTF-8 file", pathSpan)
        }
        let note = DiagnosticNote("in use \(quoted(path))", at: currentSource.range(span))
        let source = Source(file: name, text: text, path: fsPath)
        let program: Program
        do {
            program = try Parser.parse(source)
        } catch var d as Diagnostic {
            d.notes.append(note)
            throw RuntimeFailure(diagnostic: d)
        }
        let (savedScope, savedSource) = (scope, currentSource)
        scope = nil
        currentSource = source
        useStack.append((fsPath, name))
        defer { scope = savedScope; currentSource = savedSource; useStack.removeLast() }
        do {
            for s in program.statements { _ = try exec(s) }
        } catch var e as RuntimeFailure {
            e.diagnostic.notes.append(note)
            throw e
        }
    }

    /// The file's path on disk and the name diagnostics give it (relative to the user's file).
    private func useTarget(_ path: String) -> (String, String) {
        if path.hasPrefix("/") { return (URL(fileURLWithPath: path).standardized.path, path) }
        let folder = currentSource.path.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? baseDirectory
        let fsPath = URL(fileURLWithPath: folder).appendingPathComponent(path).standardized.path
        let shownFolder = (currentSource.file as NSString).deletingLastPathComponent
        return (fsPath, normalizedRelative(shownFolder.isEmpty ? path : shownFolder + "/" + path))
    }

    // MARK: Display

    /// What `show` prints: a list of numbers as a bar chart, anything else as its display.
    func showText(_ v: Value) -> String {
        if case .list(let xs) = v, !xs.isEmpty, xs.allSatisfy({ $0.number != nil }) {
            return BarChart.render(values: xs.map { $0.number! }, labels: xs.indices.map(String.init),
                                   texts: xs.map { if case .int(let i) = $0 { return String(i) }; return formatNumber($0.number!) },
                                   width: displayOptions.barWidth, unicode: displayOptions.terminal)
        }
        return v.display(displayOptions)
    }
}

/// `a/./b/../c` → `a/c`, keeping leading `..`.
func normalizedRelative(_ path: String) -> String {
    var parts: [Substring] = []
    for p in path.split(separator: "/", omittingEmptySubsequences: true) {
        if p == "." { continue }
        if p == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
        parts.append(p)
    }
    return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
}

func describe(_ error: Error) -> String {
    if let e = error as? LocalizedError, let d = e.errorDescription { return d }
    return String(describing: error)
}

extension Result where Failure == ScriptError {
    func get(orThrow transform: (ScriptError) -> Error) throws -> Success {
        switch self {
        case .success(let v): return v
        case .failure(let e): throw transform(e)
        }
    }
}
