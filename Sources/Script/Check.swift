// `check`: parse a script and resolve its names without running it — undefined variables,
// unknown functions, and builtin calls whose keywords, arity or literal argument types do
// not fit the builtin table. Files named by `use` are read for the names they define.

import Foundation

struct Checker {
    private let builtins: Builtins
    private let baseDirectory: String
    private var globals: Set<String>
    private var diagnostics: [Diagnostic] = []
    private var visitedUses: Set<String> = []

    /// Diagnostics for `program`, in source order; `globals` are names already defined.
    static func check(_ program: Program, builtins: Builtins, globals: Set<String>, baseDirectory: String) -> [Diagnostic] {
        var c = Checker(builtins: builtins, baseDirectory: baseDirectory, globals: globals)
        c.collectGlobals(program)
        c.walk(program.statements, source: program.source, locals: nil)
        return c.diagnostics
    }

    private init(builtins: Builtins, baseDirectory: String, globals: Set<String>) {
        self.builtins = builtins
        self.baseDirectory = baseDirectory
        self.globals = globals
    }

    // MARK: Names a program defines

    private mutating func collectGlobals(_ program: Program) {
        if let p = program.source.path { visitedUses.insert(p) }
        globals.formUnion(Checker.assignedNames(program.statements, intoFunctions: false))
        for case .use(let path, _, let pathSpan) in Checker.flatten(program.statements) {
            guard let fsPath = usePath(path, from: program.source) else { continue }
            if visitedUses.contains(fsPath) { continue }
            visitedUses.insert(fsPath)
            guard let data = FileManager.default.contents(atPath: fsPath), let text = String(data: data, encoding: .utf8) else {
                diagnostics.append(program.source.diagnostic(ErrorID.cannotReadFile, "cannot read `\(path)`: no such file",
                                                             at: pathSpan, hint: "paths in `use` are relative to the file that uses them"))
                continue
            }
            let shownFolder = (program.source.file as NSString).deletingLastPathComponent
            let source = Source(file: normalizedRelative(shownFolder.isEmpty ? path : shownFolder + "/" + path), text: text, path: fsPath)
            do {
                collectGlobals(try Parser.parse(source))
            } catch let d as Diagnostic {
                diagnostics.append(d)
            } catch {}
        }
    }

    private func usePath(_ path: String, from source: Source) -> String? {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized.path }
        let folder = source.path.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? baseDirectory
        return URL(fileURLWithPath: folder).appendingPathComponent(path).standardized.path
    }

    /// Statements at this level and inside if/for/while blocks (not fn bodies).
    private static func flatten(_ statements: [Stmt]) -> [Stmt] {
        statements.flatMap { s -> [Stmt] in
            switch s {
            case .ifElse(let branches, let elseBody, _):
                return [s] + branches.flatMap { flatten($0.body) } + flatten(elseBody ?? [])
            case .forIn(_, _, let body, _), .whileLoop(_, let body, _):
                return [s] + flatten(body)
            default:
                return [s]
            }
        }
    }

    /// Variables the statements create: assigned names, loop variables, fn names.
    static func assignedNames(_ statements: [Stmt], intoFunctions: Bool) -> Set<String> {
        var names: Set<String> = []
        for s in flatten(statements) {
            switch s {
            case .assign(.name(let n, _), nil, _, _): names.insert(n)
            case .forIn(let vars, _, _, _): names.formUnion(vars)
            case .function(let f): names.insert(f.name)
            default: break
            }
        }
        return names
    }

    // MARK: Walking

    private mutating func walk(_ statements: [Stmt], source: Source, locals: Set<String>?) {
        for s in statements { walk(s, source: source, locals: locals) }
    }

    private mutating func walk(_ s: Stmt, source: Source, locals: Set<String>?) {
        switch s {
        case .expression(let e, _):
            walk(e, source: source, locals: locals)
        case .assign(let target, let op, let value, _):
            walk(value, source: source, locals: locals)
            if op != nil || { if case .name = target { return false }; return true }() {
                walkTarget(target, source: source, locals: locals)
            }
        case .ifElse(let branches, let elseBody, _):
            for b in branches {
                walk(b.condition, source: source, locals: locals)
                walk(b.body, source: source, locals: locals)
            }
            walk(elseBody ?? [], source: source, locals: locals)
        case .forIn(_, let iterable, let body, _):
            walk(iterable, source: source, locals: locals)
            walk(body, source: source, locals: locals)
        case .whileLoop(let cond, let body, _):
            walk(cond, source: source, locals: locals)
            walk(body, source: source, locals: locals)
        case .breakLoop, .continueLoop, .use:
            break
        case .returnValue(let e, _):
            if let e { walk(e, source: source, locals: locals) }
        case .function(let f):
            for p in f.parameters { if let d = p.defaultValue { walk(d, source: source, locals: locals) } }
            let inner = (locals ?? []).union(f.parameters.map(\.name)).union(Checker.assignedNames(f.body, intoFunctions: false))
            walk(f.body, source: source, locals: inner)
        }
    }

    private mutating func walkTarget(_ t: AssignTarget, source: Source, locals: Set<String>?) {
        switch t {
        case .name(let n, let span): resolve(n, span, source: source, locals: locals, call: false)
        case .index(let base, let i, _): walkTarget(base, source: source, locals: locals); walk(i, source: source, locals: locals)
        case .field(let base, _, _): walkTarget(base, source: source, locals: locals)
        }
    }

    private func isDefined(_ n: String, _ locals: Set<String>?) -> Bool {
        locals?.contains(n) == true || globals.contains(n) || builtins[n] != nil || Session.isInternalName(n)
    }

    private mutating func resolve(_ n: String, _ span: Span, source: Source, locals: Set<String>?, call: Bool) {
        guard !isDefined(n, locals) else { return }
        let candidates = Array(locals ?? []).sorted() + globals.sorted() + builtins.names
        let guess = closestMatch(n, among: candidates)
        diagnostics.append(source.diagnostic(call ? ErrorID.unknownFunction : ErrorID.undefinedVariable,
                                             call ? "unknown function `\(n)`" : "undefined variable `\(n)`", at: span,
                                             hint: guess.map { "did you mean `\($0)`?" }))
    }

    private mutating func walk(_ e: Expr, source: Source, locals: Set<String>?) {
        switch e {
        case .literal:
            break
        case .name(let n, let span):
            resolve(n, span, source: source, locals: locals, call: false)
        case .list(let items, _):
            for i in items { walk(i, source: source, locals: locals) }
        case .record(let fields, _):
            for f in fields { walk(f.value, source: source, locals: locals) }
        case .unary(_, let x, _):
            walk(x, source: source, locals: locals)
        case .binary(_, let l, let r, _), .logical(_, let l, let r, _), .range(let l, let r, _), .index(let l, let r, _):
            walk(l, source: source, locals: locals)
            walk(r, source: source, locals: locals)
        case .slice(let b, let lo, let hi, let step, _):
            for x in [b, lo, hi, step].compactMap({ $0 }) { walk(x, source: source, locals: locals) }
        case .field(let b, _, _):
            walk(b, source: source, locals: locals)
        case .call(let callee, let args, let span):
            if case .name(let n, let nameSpan) = callee {
                resolve(n, nameSpan, source: source, locals: locals, call: true)
                let shadowed = locals?.contains(n) == true || globals.contains(n)
                if !shadowed, let spec = builtins[n] { checkCall(spec, args, span, source: source) }
            } else {
                walk(callee, source: source, locals: locals)
            }
            for a in args { walk(a.value, source: source, locals: locals) }
        }
    }

    /// Binds the call against the builtin's declaration with placeholder values, then checks
    /// the types of the arguments that are literals.
    private mutating func checkCall(_ spec: BuiltinSpec, _ args: [Argument], _ span: Span, source: Source) {
        let placeholders = args.map { a -> CallArgument in
            var v = Value.none
            if case .literal(let lit, _) = a.value { v = lit }
            return CallArgument(label: a.label, labelSpan: a.labelSpan, value: v, span: a.value.span)
        }
        let literalSpans = Set(args.compactMap { a -> Span? in
            if case .literal = a.value { return a.value.span }
            return nil
        })
        do {
            let placed = try ArgumentBinder.bind(spec.params, callee: spec.name, usage: spec.signature, args: placeholders,
                                                 callSpan: span, checkTypes: false)
            for (k, p) in spec.params.enumerated() where !p.isVariadic {
                guard let s = placed.spans[k], literalSpans.contains(s), !p.type.accepts(placed.values[k]) else { continue }
                diagnostics.append(source.diagnostic(ErrorID.wrongArgumentType,
                                                     "argument `\(p.name)` of `\(spec.name)` must be \(p.type), got \(placed.values[k].typeName)",
                                                     at: s))
            }
        } catch let e as BindingError {
            diagnostics.append(source.diagnostic(e.id, e.message, at: e.span, hint: e.hint))
        } catch {}
    }
}

extension Session {
    /// Parses and resolves names without running anything. An empty list means the script
    /// parses and every name it uses is defined somewhere.
    public func check(source text: String, file: String) -> [Diagnostic] {
        let source = Source(file: file, text: text, path: interpreter.resolvePath(file))
        do {
            let program = try Parser.parse(source)
            return Checker.check(program, builtins: builtins, globals: Set(interpreter.globals.keys),
                                 baseDirectory: baseDirectory)
        } catch let d as Diagnostic {
            return [d]
        } catch {
            return [Diagnostic(id: ErrorID.hostError, message: describe(error))]
        }
    }
}
