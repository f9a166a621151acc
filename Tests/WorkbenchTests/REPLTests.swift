// The REPL driven in a real pseudo-terminal through tmux: typing, Tab completion of a
// builtin and of a keyword argument, Up-arrow history, Ctrl-R search, multi-line input,
// Ctrl-C during a long perplexity run (the session survives, variables as before), Ctrl-D.
import Foundation
import TestSupport
import Testing

struct Tmux {
    let name = "come-test-\(getpid())-\(Int.random(in: 0..<1_000_000))"

    @discardableResult
    func tmux(_ args: [String]) -> String {
        // The tmux server that new-session starts must not hold a pipe of ours open.
        let detached = args.first == "new-session"
        let r = try? Subprocess.run("/usr/bin/tmux", args, output: detached ? .discard : .capture, timeout: 30)
        return r?.stdout ?? ""
    }

    func screen() -> String { tmux(["capture-pane", "-p", "-t", name]) }
    func keys(_ k: String...) { tmux(["send-keys", "-t", name] + k) }
    func type(_ text: String) { tmux(["send-keys", "-t", name, "-l", text]) }
    var alive: Bool {
        (try? Subprocess.run("/usr/bin/tmux", ["has-session", "-t", name], output: .discard, timeout: 30))?.status == 0
    }

    /// Waits until the screen satisfies `ok` (up to `seconds`).
    @discardableResult
    func wait(_ seconds: Double = 20, _ ok: (String) -> Bool) -> String {
        let end = Date().addingTimeInterval(seconds)
        var s = screen()
        while !ok(s) && Date() < end { usleep(50_000); s = screen() }
        return s
    }
}

/// The text after the last prompt on the screen.
func lastLine(_ s: String) -> String {
    s.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init) ?? ""
}

@Test func replInAPseudoTerminal() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = Tmux()
    let cmd = "cd \(dir.path) && COME_HISTORY=\(dir.path)/history COME_THREADS=1 \(ComeBinary.path) --no-log"
    t.tmux(["new-session", "-d", "-s", t.name, "-x", "150", "-y", "45", cmd])
    defer { t.tmux(["kill-session", "-t", t.name]) }
    #expect(t.wait { $0.contains("In [1]:") }.contains("In [1]:"))

    t.type("x = 41 + 1"); t.keys("Enter")
    t.wait { $0.contains("In [2]:") }
    t.type("x"); t.keys("Enter")
    #expect(t.wait { $0.contains("Out[2]: 42") }.contains("Out[2]: 42"))

    // Tab completes a builtin name.
    t.type("perplex"); t.keys("Tab")
    #expect(lastLine(t.wait { lastLine($0).contains("perplexity") }).contains("In [3]: perplexity"))
    t.keys("C-a", "C-k")
    // Tab completes a keyword argument of the call being typed.
    t.type("perplexity(x, seq"); t.keys("Tab")
    #expect(lastLine(t.wait { lastLine($0).contains("seqlen") }).contains("perplexity(x, seqlen"))
    t.keys("C-a", "C-k")

    // Up arrow brings back the last entry.
    t.keys("Up")
    #expect(lastLine(t.wait { lastLine($0).hasSuffix("In [3]: x") }).hasSuffix("In [3]: x"))
    t.keys("C-a", "C-k")
    // Ctrl-R finds an older one.
    t.keys("C-r"); t.type("41")
    // libedit shows the match on the input line and `bck:41` below it.
    let found = t.wait { $0.contains("In [3]: x = 41 + 1") }
    #expect(found.contains("In [3]: x = 41 + 1"))
    t.keys("Enter")
    t.wait { $0.contains("In [4]:") }

    // Multi-line input continues while a bracket is open.
    t.type("ys = [1,"); t.keys("Enter")
    #expect(lastLine(t.wait { lastLine($0).contains("...:") }).contains("...:"))
    t.type("2, 3]"); t.keys("Enter")
    t.wait { $0.contains("In [5]:") }
    t.type("len(ys)"); t.keys("Enter")
    #expect(t.wait { $0.contains("Out[5]: 3") }.contains("Out[5]: 3"))

    // Ctrl-C during a long statement returns to the prompt with the session intact.
    t.type("m = load(\"\(Fixtures.model("llama").path)\")"); t.keys("Enter")
    t.wait { $0.contains("In [7]:") }
    t.type("w = corpus(\"\(Fixtures.url("data/wikitext-2-raw-v1/wiki.test.raw").path)\")"); t.keys("Enter")
    t.wait { $0.contains("In [8]:") }
    t.type("x = perplexity(m, w, seqlen=16)"); t.keys("Enter")
    usleep(1_500_000)
    t.keys("C-c")
    let after = t.wait { $0.contains("interrupted") && lastLine($0).contains("In [") }
    #expect(after.contains("interrupted"))
    t.type("x"); t.keys("Enter")
    #expect(t.wait { $0.contains(": 42") && $0.components(separatedBy: ": 42").count >= 3 }.components(separatedBy: ": 42").count >= 3)

    // Ctrl-C at the prompt clears the line; Ctrl-D leaves.
    t.type("abc"); t.keys("C-c")
    usleep(300_000)
    #expect(t.alive)
    t.keys("C-d")
    let end = Date().addingTimeInterval(5)
    while t.alive && Date() < end { usleep(50_000) }
    #expect(!t.alive)
    let history = try String(contentsOf: dir.appendingPathComponent("history"), encoding: .utf8)
    #expect(history.contains("len(ys)"))
}
