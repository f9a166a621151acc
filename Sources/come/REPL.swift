// The interactive REPL: libedit (through its readline-compatible API) with emacs keys, a
// persistent history, Ctrl-R search, Tab completion from the session; numbered
// notebook-like prompts; meta-commands; Ctrl-C cancels the running statement.
import CEditLine
import Foundation
import Script
import Workbench

nonisolated(unsafe) var replSession: Session?
nonisolated(unsafe) var replMatches: [String] = []

/// readline's generator: returns the next match as a malloc'd C string, then NULL.
private let completionGenerator: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = { _, state in
    let i = Int(state)
    guard i < replMatches.count else { return nil }
    return strdup(replMatches[i])
}

private let attemptedCompletion: @convention(c) (UnsafePointer<CChar>?, Int32, Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = { text, start, end in
    rl_attempted_completion_over = 1
    guard let session = replSession, let buf = rl_line_buffer else { return nil }
    let line = String(cString: buf)
    let chars = Array(line)
    let cursor = min(Int(rl_point), chars.count)
    let c = session.complete(line: String(chars.prefix(cursor)), cursor: cursor)
    // libedit replaces the word from `start`; ours may begin later (after a dot).
    let wordStart = min(Int(start), cursor)
    let lead = c.start > wordStart ? String(chars[wordStart..<min(c.start, cursor)]) : ""
    replMatches = c.candidates.map { lead + $0 }
    if replMatches.isEmpty { return nil }
    return rl_completion_matches(text, completionGenerator)
}

/// libedit's readline can return with SIGINT, SIGHUP and SIGQUIT still blocked, which
/// would hold Ctrl-C (and a closing terminal) back until the next prompt.
func unblockSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGINT, SIGHUP, SIGQUIT, SIGTERM] { sigaddset(&set, s) }
    sigprocmask(SIG_UNBLOCK, &set, nil)
}

struct REPL {
    let session: Session
    let historyPath: String
    let logPath: String?
    var timing = false

    init(session: Session, logPath: String?) {
        self.session = session
        self.logPath = logPath
        historyPath = ProcessInfo.processInfo.environment["COME_HISTORY"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".come_history")
    }

    mutating func run() -> Int32 {
        replSession = session
        rl_readline_name = UnsafePointer(strdup("come"))
        rl_attempted_completion_function = attemptedCompletion
        rl_basic_word_break_characters = UnsafePointer(strdup(" \t\n\"\\'`@$><=;|&{([,+-*/%:#"))
        rl_initialize()
        _ = rl_parse_and_bind(strdup("bind ^R em-inc-search-prev"))
        stifle_history(5000)
        _ = read_history(historyPath)
        print("come \(comeVersion) — :help for commands, :quit or Ctrl-D to leave")
        var lastEntry = ""
        while true {
            let n = session.cellCount + 1
            guard var text = readLine(prompt: "In [\(n)]: ") else {
                print("")
                return 0
            }
            if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            while !session.isComplete(text) {
                guard let more = readLine(prompt: String(repeating: " ", count: "In [\(n)]".count - 3) + "...: ") else { break }
                text += "\n" + more
            }
            if text != lastEntry {
                add_history(text)
                append_history(1, historyPath)
                lastEntry = text
            }
            if text.hasPrefix(":") {
                if meta(text) == false { return 0 }
                continue
            }
            let started = Date()
            let r = session.evaluateCell(text)
            let elapsed = Date().timeIntervalSince(started)
            (session.output as? HostOutput)?.clearProgress()
            for d in r.diagnostics { FileHandle.standardError.write(Data((session.render(d) + "\n").utf8)) }
            if let v = r.value { print("Out[\(r.number)]: " + v.display(session.display)) }
            if timing { print(String(format: "(%.3f s)", elapsed)) }
        }
    }

    /// One line from libedit; nil at end of input. Ctrl-C at the prompt clears the line.
    func readLine(prompt: String) -> String? {
        while true {
            let before = interruptCount
            let line = readline(prompt)
            // libedit installs its own SIGINT handler while it reads; ours goes back after.
            installInterruptHandler(session.cancellation)
            unblockSignals()
            guard let p = line else {
                if interruptCount != before { print(""); continue }
                return nil
            }
            defer { free(p) }
            if interruptCount != before { session.cancellation.clear() }
            return String(cString: p)
        }
    }

    /// Meta-commands; false means quit.
    mutating func meta(_ line: String) -> Bool {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        let arg = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch parts[0] {
        case ":quit", ":q", ":exit": return false
        case ":help":
            if arg.isEmpty {
                print("""
                    :help [name]   help for a builtin (or this list)
                    :vars          the variables and their values
                    :history [n]   the last n inputs
                    :log           where the session log is
                    :save FILE     the session's statements as a .come script
                    :time on|off   show each cell's wall time
                    :reset         forget all variables
                    :quit          leave (Ctrl-D too)
                    builtins: \(session.builtins.names.sorted().joined(separator: ", "))
                    """)
            } else if let h = session.helpText(arg) { print(h) } else { print("no builtin or function named `\(arg)`") }
        case ":vars":
            for (k, v) in session.variables { print("\(k) = \(v.display(session.display))") }
        case ":history":
            let n = Int(arg) ?? 20
            let total = Int(history_length)
            for i in max(0, total - n)..<total {
                if let e = history_get(history_base + Int32(i)), let line = e.pointee.line { print("\(i + 1)  \(String(cString: line))") }
            }
        case ":log":
            print(logPath ?? "no session log (--no-log)")
        case ":save":
            guard !arg.isEmpty else { print("usage: :save FILE.come"); break }
            let script = session.records.filter { $0.status == .ok }.map(\.source).joined(separator: "\n") + "\n"
            do { try script.write(toFile: arg, atomically: true, encoding: .utf8); print("saved \(session.records.filter { $0.status == .ok }.count) statements to \(arg)") }
            catch { print("cannot write \(arg): \(error.localizedDescription)") }
        case ":time":
            timing = arg != "off"
            print("timing \(timing ? "on" : "off")")
        case ":reset":
            for (name, _) in session.variables { session[variable: name] = nil }
            print("variables cleared")
        default:
            print("unknown command \(parts[0]); :help lists them")
        }
        return true
    }
}
