// The host's handle on the language: run a script, evaluate REPL cells (with `Out[n]`, `_`,
// `_3`), tell whether input is complete, check a script without running it, complete a
// line. Each top-level statement runs with a snapshot of the globals and one log record.

import Foundation

public struct RunResult {
    /// `.ok` if every statement succeeded, `.interrupted` if one was interrupted, else `.error`.
    public var status: StatementStatus
    public var diagnostics: [Diagnostic]

    /// 0, 1 for an error, 130 for an interruption (as a shell reports SIGINT).
    public var exitCode: Int32 {
        switch status {
        case .ok: return 0
        case .error: return 1
        case .interrupted: return 130
        }
    }
}

public struct CellResult {
    /// The cell's number: its value is `Out[number]` and `_number`.
    public var number: Int
    /// The value the cell displays: that of its last statement, if it is an expression whose
    /// value is not none.
    public var value: Value?
    public var status: StatementStatus
    public var diagnostics: [Diagnostic]
}

public final class Session {
    public let builtins: Builtins
    public let cancellation: CancellationFlag
    let interpreter: Interpreter

    /// Continue a script after a failed statement (an interruption still stops it).
    public var keepGoing = false
    /// Receives one record per top-level statement; nil: no log.
    public var log: SessionLogWriter?
    /// The records this session wrote (or would have written), oldest first.
    public private(set) var records: [StatementRecord] = []
    public private(set) var cellCount = 0
    public private(set) var statementCount = 0

    public init(builtins: Builtins = .general(), output: OutputSink = StandardOutput(),
                cancellation: CancellationFlag = CancellationFlag(),
                baseDirectory: String = FileManager.default.currentDirectoryPath) {
        self.builtins = builtins
        self.cancellation = cancellation
        self.interpreter = Interpreter(builtins: builtins, output: output, cancellation: cancellation,
                                       baseDirectory: baseDirectory)
        interpreter.globals["args"] = .list([])
        interpreter.globals["Out"] = .record(Record())
    }

    public var output: OutputSink {
        get { interpreter.output }
        set { interpreter.output = newValue }
    }

    /// The words after the script path; the script sees them as `args` and reads
    /// `--name value` pairs with `arg("name", default)`.
    public var scriptArguments: [String] {
        get { interpreter.scriptArguments }
        set {
            interpreter.scriptArguments = newValue
            interpreter.globals["args"] = .list(newValue.map(Value.string))
        }
    }

    public var display: DisplayOptions {
        get { interpreter.displayOptions }
        set { interpreter.displayOptions = newValue }
    }

    /// Relative paths (scripts, `use` from a cell, files builtins open) start here.
    public var baseDirectory: String {
        get { interpreter.baseDirectory }
        set { interpreter.baseDirectory = newValue }
    }

    /// Calls may nest this deep (200 by default). Each level takes a few kilobytes of stack:
    /// the default fits the main thread, or any thread with at least 4 MB.
    public var maxCallDepth: Int {
        get { interpreter.maxCallDepth }
        set { interpreter.maxCallDepth = newValue }
    }

    /// Safe mode: the effects builtins may have; nil allows all.
    public var allowedEffects: Set<Effect>? {
        get { interpreter.allowedEffects }
        set { interpreter.allowedEffects = newValue }
    }

    public subscript(variable name: String) -> Value? {
        get { interpreter.globals[name] }
        set { interpreter.globals[name] = newValue }
    }

    /// The user's variables (not `args`, `Out`, `_`, `_3`), sorted by name.
    public var variables: [(name: String, value: Value)] {
        interpreter.globals.filter { !Session.isInternalName($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func isInternalName(_ n: String) -> Bool {
        n == "args" || n == "Out" || n == "_" || (n.hasPrefix("_") && Int(n.dropFirst()) != nil)
    }

    /// `help(name)`'s text for a builtin, or the signature of a defined fn.
    public func helpText(_ name: String) -> String? {
        if case .function(let f)? = interpreter.globals[name] { return "fn \(f.signature)" }
        return builtins.helpText(name)
    }

    public func render(_ d: Diagnostic) -> String {
        DiagnosticFormatter(color: display.terminal).format(d)
    }

    // MARK: Scripts

    /// Runs a script from a file (`path` is also the name diagnostics show).
    public func run(file path: String) -> RunResult {
        let fsPath = interpreter.resolvePath(path)
        guard let data = FileManager.default.contents(atPath: fsPath), let text = String(data: data, encoding: .utf8) else {
            let d = Diagnostic(id: ErrorID.cannotReadFile, message: "cannot read `\(path)`")
            output.report(d)
            return RunResult(status: .error, diagnostics: [d])
        }
        return run(source: text, file: path, path: fsPath)
    }

    /// Runs a whole script: stops at its first error unless `keepGoing`. Values of top-level
    /// expression statements go to the output's `display`.
    public func run(source text: String, file: String, path: String? = nil) -> RunResult {
        cancellation.clear()
        let fsPath = URL(fileURLWithPath: path ?? interpreter.resolvePath(file)).standardized.path
        let source = Source(file: file, text: text, path: fsPath)
        let program: Program
        do {
            program = try Parser.parse(source)
        } catch {
            let d = asDiagnostic(error)
            output.report(d)
            return RunResult(status: .error, diagnostics: [d])
        }
        interpreter.useStack = [(source.path!, file)]
        defer { interpreter.useStack = [] }
        var diagnostics: [Diagnostic] = []
        var status = StatementStatus.ok
        for stmt in program.statements {
            cellCount += 1
            let cell = cellCount
            let outcome = runTopLevel(stmt, in: source, cell: cell)
            if let v = outcome.value {
                remember(v, cell: cell)
                output.display(v, cell: cell)
            }
            if let d = outcome.diagnostic {
                diagnostics.append(d)
                output.report(d)
            }
            if outcome.status == .interrupted {
                status = .interrupted
                break
            }
            if outcome.status == .error {
                status = .error
                if !keepGoing || outcome.fatal { break }
            }
        }
        cancellation.clear()
        return RunResult(status: status, diagnostics: diagnostics)
    }

    // MARK: Cells

    /// Evaluates REPL input (one or more statements). The displayed value is returned, not
    /// sent to the output; it becomes `Out[n]`, `_n` and `_`.
    public func evaluateCell(_ text: String, file: String? = nil) -> CellResult {
        cancellation.clear()
        cellCount += 1
        let n = cellCount
        let source = Source(file: file ?? "In[\(n)]", text: text)
        let program: Program
        do {
            program = try Parser.parse(source)
        } catch {
            return CellResult(number: n, value: nil, status: .error, diagnostics: [asDiagnostic(error)])
        }
        var value: Value?
        for stmt in program.statements {
            let outcome = runTopLevel(stmt, in: source, cell: n)
            value = outcome.value
            if outcome.status != .ok {
                cancellation.clear()
                return CellResult(number: n, value: nil, status: outcome.status, diagnostics: outcome.diagnostic.map { [$0] } ?? [])
            }
        }
        if let value { remember(value, cell: n) }
        return CellResult(number: n, value: value, status: .ok, diagnostics: [])
    }

    private func remember(_ v: Value, cell: Int) {
        var out: Record
        if case .record(let r)? = interpreter.globals["Out"] { out = r } else { out = Record() }
        out[String(cell)] = v
        interpreter.globals["Out"] = .record(out)
        interpreter.globals["_"] = v
        interpreter.globals["_\(cell)"] = v
    }

    /// True unless a bracket, parenthesis or brace is still open: the REPL then reads
    /// another line. Input with a lexical error counts as complete, so the error is shown.
    public func isComplete(_ text: String) -> Bool { Session.isComplete(text) }

    public static func isComplete(_ text: String) -> Bool {
        var lexer = Lexer(Source(file: "<input>", text: text))
        var depth = 0
        while true {
            guard let t = try? lexer.next() else { return true }
            switch t.kind {
            case .symbol(.leftParen), .symbol(.leftBracket), .symbol(.leftBrace): depth += 1
            case .symbol(.rightParen), .symbol(.rightBracket), .symbol(.rightBrace): depth = max(0, depth - 1)
            case .eof: return depth == 0
            default: break
            }
        }
    }

    // MARK: One statement

    private struct Outcome {
        var status: StatementStatus
        var value: Value?
        var diagnostic: Diagnostic?
        /// The log could not be written: nothing more may run.
        var fatal = false
    }

    private func runTopLevel(_ stmt: Stmt, in source: Source, cell: Int) -> Outcome {
        statementCount += 1
        let started = Date()
        let text = source.text(stmt.span)
        interpreter.currentSource = source
        interpreter.scope = nil
        let snapshot = interpreter.globals
        let facts = StatementFacts()
        interpreter.facts = facts
        defer { interpreter.facts = nil }
        output.statementWillRun(cell: cell, source: text)
        var outcome = Outcome(status: .ok)
        do {
            try interpreter.checkCancelled()
            if case .expression(let e, _) = stmt {
                let v = try interpreter.eval(e)
                if case .none = v {} else { outcome.value = v }
            } else {
                _ = try interpreter.exec(stmt)
            }
        } catch let f as RuntimeFailure {
            outcome = Outcome(status: .error, diagnostic: f.diagnostic)
        } catch is Interrupted {
            interpreter.globals = snapshot
            outcome = Outcome(status: .interrupted,
                              diagnostic: source.diagnostic(ErrorID.interrupted, "interrupted", at: stmt.span,
                                                            hint: "the variables are as they were before this statement"))
        } catch {
            outcome = Outcome(status: .error, diagnostic: asDiagnostic(error))
        }
        interpreter.currentSource = source
        interpreter.scope = nil
        let elapsed = Date().timeIntervalSince(started)
        let record = StatementRecord(sequence: statementCount, start: isoTimestamp(started), elapsed: elapsed,
                                     status: outcome.status, file: source.file, source: text, calls: facts.calls,
                                     omittedCalls: facts.omitted,
                                     error: outcome.diagnostic.map { "\($0.id): \($0.message)" })
        records.append(record)
        if let log {
            do {
                try log.append(record)
            } catch {
                outcome.status = .error
                outcome.fatal = true
                outcome.diagnostic = Diagnostic(id: ErrorID.sessionLog, message: "cannot write the session log: \(describe(error))",
                                                hint: "no further statement runs without its log record")
            }
        }
        output.statementDidRun(cell: cell, status: outcome.status, elapsed: elapsed)
        return outcome
    }

    private func asDiagnostic(_ error: Error) -> Diagnostic {
        switch error {
        case let d as Diagnostic: return d
        case let f as RuntimeFailure: return f.diagnostic
        default: return Diagnostic(id: ErrorID.hostError, message: describe(error))
        }
    }
}
