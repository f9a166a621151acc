// The host: a Script session with the engine builtins registered, a session log under
// .come/sessions/ (or --log PATH), Ctrl-C wired to the session's cancellation flag, and
// progress shown on stderr.
import Foundation
import Script
import Tensors

public let comeVersion = "0.1.0"

public struct HostOptions {
    public var logPath: String? = nil
    public var noLog = false
    public var keepGoing = false
    public var terminal = isatty(1) != 0
    public var baseDirectory = FileManager.default.currentDirectoryPath
    public init() {}
}

/// Progress and statement output for a terminal or a pipe.
public final class HostOutput: OutputSink {
    public var options: DisplayOptions
    let progressOnTerminal = isatty(2) != 0
    var lastProgress = Date.distantPast
    var progressShown = false

    public init(options: DisplayOptions) { self.options = options }

    public func write(_ text: String) {
        clearProgress()
        FileHandle.standardOutput.write(Data(text.utf8))
    }
    public func display(_ value: Value, cell: Int) { write(value.display(options) + "\n") }
    public func report(_ diagnostic: Diagnostic) {}
    public func statementDidRun(cell: Int, status: StatementStatus, elapsed: Double) { clearProgress() }
    public func progress(_ u: ProgressUpdate) {
        guard progressOnTerminal else { return }
        if Date().timeIntervalSince(lastProgress) < 0.1, u.fraction.map({ $0 < 1 }) ?? true { return }
        lastProgress = Date()
        var line = "\r\u{1B}[2K\(u.builtin): "
        if let f = u.fraction {
            let w = 24, filled = Int(Double(w) * min(1, max(0, f)))
            line += String(repeating: "█", count: filled) + String(repeating: "░", count: w - filled) + " "
        }
        line += u.message
        FileHandle.standardError.write(Data(line.utf8))
        progressShown = true
    }
    public func clearProgress() {
        if progressShown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)); progressShown = false }
    }
}

/// SIGINT sets the cancellation flag (a signal-safe store); builtins see it at their next
/// safe point and the statement unwinds with the globals restored.
nonisolated(unsafe) var interruptPointer: UnsafeMutablePointer<Int32>?
/// Incremented by every SIGINT; the REPL compares it to tell Ctrl-C from end of input.
nonisolated(unsafe) public var interruptCount: Int32 = 0

public func installInterruptHandler(_ flag: CancellationFlag) {
    interruptPointer = flag.signalSafePointer
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in
        interruptPointer?.pointee = 1
        interruptCount &+= 1
    }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(SIGINT, &action, nil)
}

public enum Host {
    /// The log the last session made writes to (nil with --no-log).
    nonisolated(unsafe) public static var logPath: String?

    public static func builtins() -> Builtins {
        let b = Builtins.general()
        b.register(engineBuiltins())
        b.register(measureBuiltins())
        b.register(compressionBuiltins())
        b.register(evalBuiltins())
        b.register(distillBuiltins())
        return b
    }

    /// The revision of the checkout the binary was built in, read from .git directly (a git
    /// subprocess would cost more than the rest of start-up).
    public static func gitRevision() -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let git = dir.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let h = head.trimmingCharacters(in: .whitespacesAndNewlines)
                guard h.hasPrefix("ref: ") else { return String(h.prefix(12)) }
                let ref = String(h.dropFirst(5))
                if let sha = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                    return String(sha.prefix(12))
                }
                if let packed = try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8),
                   let line = packed.split(separator: "\n").first(where: { $0.hasSuffix(" " + ref) }) {
                    return String(line.prefix(12))
                }
                return "unknown"
            }
            dir.deleteLastPathComponent()
        }
        return "unknown"
    }

    public static func header() -> SessionLogHeader {
        var u = utsname()
        uname(&u)
        let os = withUnsafeBytes(of: &u.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } + " " +
                 withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return SessionLogHeader(version: comeVersion, gitRevision: gitRevision(), os: os, blas: Threads.blasConfig,
                                threads: Threads.count, seed: "none (each seeded builtin logs its seed)")
    }

    /// The default log path: .come/sessions/<UTC timestamp>-<pid>.jsonl under the base directory.
    public static func defaultLogPath(base: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return base + "/.come/sessions/\(f.string(from: Date()))-\(getpid()).jsonl"
    }

    public static func makeSession(_ o: HostOptions) throws -> Session {
        let flag = CancellationFlag()
        let s = Session(builtins: builtins(), output: HostOutput(options: DisplayOptions(terminal: o.terminal)),
                        cancellation: flag, baseDirectory: o.baseDirectory)
        s.display = DisplayOptions(terminal: o.terminal)
        s.keepGoing = o.keepGoing
        if !o.noLog {
            let path = o.logPath ?? defaultLogPath(base: o.baseDirectory)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            s.log = try SessionLogWriter.create(path: path, header: header())
            logPath = path
        }
        installInterruptHandler(flag)
        return s
    }
}
