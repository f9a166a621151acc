// What a running builtin may touch: the cancellation flag (set from a SIGINT handler), the
// output sink (so a REPL or notebook captures printing), progress reports, the facts the
// session log records for the current statement, and calls back into script functions.

import Foundation

/// Thrown by `checkCancelled()` (and by the interpreter between loop iterations) once the
/// flag is set; it unwinds the statement, whose globals are then restored.
public struct Interrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "interrupted" }
}

/// A flag a signal handler may set. The handler stores a non-zero Int32 through
/// `signalSafePointer`, which is async-signal-safe; everything else reads `isSet`.
public final class CancellationFlag: @unchecked Sendable {
    public let signalSafePointer: UnsafeMutablePointer<Int32>

    public init() {
        signalSafePointer = .allocate(capacity: 1)
        signalSafePointer.initialize(to: 0)
    }

    deinit { signalSafePointer.deallocate() }

    public var isSet: Bool { signalSafePointer.pointee != 0 }
    public func set() { signalSafePointer.pointee = 1 }
    public func clear() { signalSafePointer.pointee = 0 }
}

public struct ProgressUpdate: Sendable {
    public var builtin: String
    /// 0...1, or nil when the total is unknown.
    public var fraction: Double?
    public var message: String
}

public enum StatementStatus: String, Sendable {
    case ok, error, interrupted
}

/// Where a session's output goes. Only `write` is required.
public protocol OutputSink: AnyObject {
    /// Text from `print`, `show` and builtins, newlines included.
    func write(_ text: String)
    /// The value of a top-level expression statement of a script run by `Session.run`.
    func display(_ value: Value, cell: Int)
    func progress(_ update: ProgressUpdate)
    /// Around each top-level statement of `Session.run` (a notebook splits cells here).
    func statementWillRun(cell: Int, source: String)
    func statementDidRun(cell: Int, status: StatementStatus, elapsed: Double)
    /// An error of `Session.run`, in order with the output (keep-going runs report several).
    func report(_ diagnostic: Diagnostic)
}

extension OutputSink {
    public func display(_ value: Value, cell: Int) { write(value.display() + "\n") }
    public func progress(_ update: ProgressUpdate) {}
    public func statementWillRun(cell: Int, source: String) {}
    public func statementDidRun(cell: Int, status: StatementStatus, elapsed: Double) {}
    public func report(_ diagnostic: Diagnostic) {}
}

/// Collects everything in memory: printed text and displayed values in order.
public final class CapturedOutput: OutputSink {
    public enum Event {
        case text(String)
        case value(Value, cell: Int)
        case diagnostic(Diagnostic)
    }

    public private(set) var events: [Event] = []
    public var options: DisplayOptions

    public init(options: DisplayOptions = DisplayOptions()) { self.options = options }

    public func write(_ text: String) { events.append(.text(text)) }
    public func display(_ value: Value, cell: Int) { events.append(.value(value, cell: cell)) }
    public func report(_ diagnostic: Diagnostic) { events.append(.diagnostic(diagnostic)) }

    /// Printed text with each displayed value on its own line(s); diagnostics left out.
    public var text: String {
        events.map { e -> String in
            switch e {
            case .text(let s): return s
            case .value(let v, _): return v.display(options) + "\n"
            case .diagnostic: return ""
            }
        }.joined()
    }

    public func clear() { events.removeAll() }
}

/// Writes to standard output, displaying values as `Out[n]: value`-less plain lines.
public final class StandardOutput: OutputSink {
    public var options: DisplayOptions

    public init(options: DisplayOptions = DisplayOptions()) { self.options = options }

    public func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    public func display(_ value: Value, cell: Int) { write(value.display(options) + "\n") }
}

/// Handed to each builtin call.
public final class CallContext {
    public let callee: String
    unowned let interpreter: Interpreter
    let callSpan: Span
    /// Index of this call's record in the statement's facts, if it is logged.
    let record: Int?

    init(callee: String, interpreter: Interpreter, callSpan: Span, record: Int?) {
        self.callee = callee; self.interpreter = interpreter; self.callSpan = callSpan; self.record = record
    }

    public var isCancelled: Bool { interpreter.cancellation.isSet }

    /// Long-running builtins call this often; it throws `Interrupted` once Ctrl-C was pressed.
    public func checkCancelled() throws {
        if interpreter.cancellation.isSet { throw Interrupted() }
    }

    public func write(_ text: String) { interpreter.output.write(text) }
    public func print(_ line: String) { interpreter.output.write(line + "\n") }

    /// Prints a value's full display (tables and charts rendered).
    public func show(_ value: Value) { interpreter.output.write(interpreter.showText(value) + "\n") }

    public func progress(_ fraction: Double?, _ message: String) {
        interpreter.output.progress(ProgressUpdate(builtin: callee, fraction: fraction, message: message))
    }

    public var builtins: Builtins { interpreter.builtins }
    public var scriptArguments: [String] { interpreter.scriptArguments }
    public var displayOptions: DisplayOptions { interpreter.displayOptions }
    /// The display name of the file whose code made this call.
    public var currentFile: String { interpreter.currentSource.file }

    /// A path as the builtin should open it: relative paths are taken from the session's base
    /// directory.
    public func resolvePath(_ path: String) -> String { interpreter.resolvePath(path) }

    /// Calls a script function or builtin value with positional arguments (a `key=` callback).
    public func call(_ function: Value, _ arguments: [Value]) throws -> Value {
        try interpreter.callValue(function, arguments.map { CallArgument(label: nil, labelSpan: nil, value: $0, span: callSpan) },
                                  span: callSpan, from: callee)
    }

    // MARK: Facts for the session log

    public func recordRead(_ fingerprint: String) { interpreter.facts?.addRead(fingerprint, to: record) }
    public func recordWritten(_ fingerprint: String) { interpreter.facts?.addWritten(fingerprint, to: record) }
    public func recordRead(_ object: HostObject) { object.fingerprint.map(recordRead) }
    public func recordWritten(_ object: HostObject) { object.fingerprint.map(recordWritten) }

    /// Logs the value a parameter actually had: a seed drawn because none was given, a
    /// "auto" resolved to a number. Replay passes this value instead of the default.
    public func recordResolved(_ parameter: String, _ value: Value) {
        interpreter.facts?.resolve(parameter, value, in: record)
    }

    /// A named scalar result (a perplexity, a count) beside the returned value.
    public func recordResult(_ name: String, _ value: Value) {
        interpreter.facts?.addResult(name, value, to: record)
    }

    /// A measurement of the machine (a latency): logged beside the results, but replay does
    /// not compare it, since no rerun repeats it.
    public func recordMeasurement(_ name: String, _ value: Value) {
        interpreter.facts?.addMeasurement(name, value, to: record)
    }
}
