// `come run FILE.come`, `come FILE.come` (and `#!/usr/bin/env come`), `come -e 'stmt'`,
// `come check FILE.come`, and plain `come`: the REPL on a terminal, statements read line
// by line from a pipe otherwise.
import ArgumentParser
import Foundation
import Script
import Workbench

struct SessionFlags: ParsableArguments {
    @Option(help: "Write the session log here (default .come/sessions/<UTC time>-<pid>.jsonl).") var log: String?
    @Flag(name: .customLong("no-log"), help: "Write no session log.") var noLog = false
    @Flag(name: .customLong("keep-going"), help: "Continue after a failing statement.") var keepGoing = false
    @Option(help: "Threads for BLAS and parallel loops.") var threads: Int?

    func hostOptions() -> HostOptions {
        if let t = threads { Tensors.Threads.set(t) }
        var o = HostOptions()
        o.logPath = log; o.noLog = noLog; o.keepGoing = keepGoing
        return o
    }
}

import Tensors

func makeSession(_ o: HostOptions) -> Session {
    do { return try Host.makeSession(o) } catch {
        FileHandle.standardError.write(Data("error: cannot open the session log: \(error)\n".utf8))
        exit(1)
    }
}

func reportDiagnostics(_ s: Session, _ r: RunResult) {
    for d in r.diagnostics { FileHandle.standardError.write(Data((s.render(d) + "\n").utf8)) }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a .come script; words after the path are its arguments.")
    @OptionGroup var flags: SessionFlags
    @ArgumentParser.Argument(help: "The script.") var file: String
    @Option(help: "Also render the run as a Markdown notebook here (figures as SVG beside it).") var notebook: String?
    @Flag(name: .customLong("no-timings"), help: "Leave cell timings out of the notebook.") var noTimings = false
    @ArgumentParser.Argument(parsing: .captureForPassthrough, help: "Arguments the script reads with args / arg(\"name\", default).") var scriptArguments: [String] = []

    /// come's own flags may follow the script path (`come run x.come --notebook out.md`);
    /// everything else, and everything after `--`, is the script's.
    func split() -> (flags: SessionFlags, notebook: String?, noTimings: Bool, script: [String]) {
        var f = flags, nb = notebook, nt = noTimings, rest: [String] = []
        var i = 0
        let a = scriptArguments
        while i < a.count {
            switch a[i] {
            case "--": rest += a[(i + 1)...]; i = a.count; continue
            case "--notebook" where i + 1 < a.count: nb = a[i + 1]; i += 1
            case "--log" where i + 1 < a.count: f.log = a[i + 1]; i += 1
            case "--threads" where i + 1 < a.count: f.threads = Int(a[i + 1]); i += 1
            case "--no-timings": nt = true
            case "--no-log": f.noLog = true
            case "--keep-going": f.keepGoing = true
            default: rest.append(a[i])
            }
            i += 1
        }
        return (f, nb, nt, rest)
    }

    func run() throws {
        let (flags, notebook, noTimings, scriptArguments) = split()
        let s = makeSession(flags.hostOptions())
        s.scriptArguments = scriptArguments
        var recorder: NotebookRecorder? = nil
        if notebook != nil {
            s.display = DisplayOptions(terminal: false)
            let rec = NotebookRecorder(renderDiagnostic: { DiagnosticFormatter(color: false).format($0) })
            s.output = rec
            recorder = rec
        }
        let r = s.run(file: file)
        if let out = notebook, let rec = recorder {
            let url = URL(fileURLWithPath: out)
            let base = url.deletingPathExtension().lastPathComponent
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            let nb = NotebookRenderer.render(scriptName: URL(fileURLWithPath: file).lastPathComponent, scriptText: text,
                                             cells: rec.cells, outputName: base, timings: !noTimings)
            do { try NotebookRenderer.write(markdown: nb.markdown, figures: nb.figures, to: url) } catch {
                FileHandle.standardError.write(Data("error: cannot write the notebook \(out): \(error)\n".utf8))
                throw ExitCode(1)
            }
            FileHandle.standardError.write(Data("notebook: \(out) (\(rec.cells.count) statements, \(nb.figures.count) figures)\n".utf8))
        }
        reportDiagnostics(s, r)
        throw ExitCode(r.exitCode)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parse a script and resolve its names without running it.")
    @ArgumentParser.Argument var file: String
    func run() throws {
        var o = HostOptions(); o.noLog = true
        let s = makeSession(o)
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            FileHandle.standardError.write(Data("error: cannot read \(file)\n".utf8))
            throw ExitCode(1)
        }
        let ds = s.check(source: text, file: file)
        for d in ds { FileHandle.standardError.write(Data((s.render(d) + "\n").utf8)) }
        if !ds.isEmpty { throw ExitCode(1) }
        print("\(file): ok")
    }
}

/// Handles the forms ArgumentParser cannot: no arguments, `-e`, and a script path first.
func dispatchScripting(_ argv: [String]) -> Bool {
    var o = HostOptions()
    // `come --no-log` (and the other session flags alone) still means the REPL.
    var onlyFlags = true
    var i = 0
    while i < argv.count && onlyFlags {
        switch argv[i] {
        case "--no-log": o.noLog = true
        case "--keep-going": o.keepGoing = true
        case "--log" where i + 1 < argv.count: o.logPath = argv[i + 1]; i += 1
        case "--threads" where i + 1 < argv.count: Threads.set(Int(argv[i + 1]) ?? Threads.count); i += 1
        default: onlyFlags = false; i -= 1
        }
        i += 1
    }
    // Session flags may also come before `-e` or a script path.
    let flagged = i > 0 && !onlyFlags && (argv[i] == "-e" || argv[i].hasSuffix(".come"))
    let argv = flagged ? Array(argv[i...]) : argv
    if onlyFlags {
        if isatty(0) != 0 {
            let s = makeSession(o)
            var repl = REPL(session: s, logPath: Host.logPath)
            exit(repl.run())
        }
        // A pipe: plain lines, no prompts; statements accumulate until brackets close.
        o.terminal = false
        let s = makeSession(o)
        var pending = ""
        var failed = false
        while let line = Swift.readLine(strippingNewline: false) {
            if pending.isEmpty, line.hasPrefix(":") {
                // Meta-commands on a pipe: :quit ends the input; the others need the REPL.
                if [":quit", ":q", ":exit"].contains(line.trimmingCharacters(in: .whitespacesAndNewlines)) { break }
                FileHandle.standardError.write(Data("note: \(line.trimmingCharacters(in: .newlines)) works in the interactive REPL only\n".utf8))
                continue
            }
            pending += line
            if !s.isComplete(pending) { continue }
            let r = s.evaluateCell(pending)
            pending = ""
            for d in r.diagnostics { FileHandle.standardError.write(Data((s.render(d) + "\n").utf8)) }
            if let v = r.value { print(v.display(s.display)) }
            if r.status != .ok { failed = true; break }
        }
        if !failed && !pending.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let r = s.evaluateCell(pending)
            for d in r.diagnostics { FileHandle.standardError.write(Data((s.render(d) + "\n").utf8)) }
            if let v = r.value { print(v.display(s.display)) }
            failed = r.status != .ok
        }
        exit(failed ? 1 : 0)
    }
    if argv[0] == "-e", argv.count >= 2 {
        let s = makeSession(o)
        s.scriptArguments = Array(argv.dropFirst(2))
        let r = s.run(source: argv[1], file: "-e")
        reportDiagnostics(s, r)
        exit(r.exitCode)
    }
    if argv[0].hasSuffix(".come"), FileManager.default.fileExists(atPath: argv[0]) {
        let s = makeSession(o)
        s.scriptArguments = Array(argv.dropFirst())
        let r = s.run(file: argv[0])
        reportDiagnostics(s, r)
        exit(r.exitCode)
    }
    return false
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Re-run a session log and verify every record (fingerprints, results).")
    @ArgumentParser.Argument(help: "The session log (.jsonl).") var log: String
    @Option(help: "Relative tolerance for float results.") var tolerance = 1e-6
    @Option(help: "Stop after record N.") var until: Int?
    @Flag(name: .customLong("from-script"), help: "Re-run the sources only, comparing nothing.") var fromScript = false
    @Flag(name: .customLong("allow-effects"), help: "Allow shell calls and writes outside the working folder.") var allowEffects = false

    func run() throws {
        var o = ReplayOptions()
        o.tolerance = tolerance; o.until = until; o.fromScript = fromScript; o.allowEffects = allowEffects
        do {
            let r = try Replay.run(log: log, options: o, output: CapturedOutput())
            if let t = r.truncatedTail { FileHandle.standardError.write(Data("note: \(t)\n".utf8)) }
            if let d = r.divergence {
                FileHandle.standardError.write(Data("replay diverged at \(d)\n".utf8))
                throw ExitCode(1)
            }
            print("replayed \(r.replayed) records of \(log): all match")
        } catch let e as ExitCode { throw e } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Log2Script: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log2script", abstract: "Write a session log's statements as a .come script.")
    @ArgumentParser.Argument var log: String
    func run() throws {
        do { print(try Replay.script(fromLog: log), terminator: "") } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
