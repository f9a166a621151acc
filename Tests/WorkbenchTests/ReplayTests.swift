// Session logs replay: a script that loads a fixture model, measures perplexity and saves
// it replays clean; a changed fingerprint fails naming its record; a torn last record is
// reported and the complete ones replay; a run killed with SIGKILL leaves a log whose
// complete records replay.
import Foundation
import TestSupport
import Testing

let replayScript = """
m = load("\(Fixtures.model("llama").path)")
w = corpus("\(Fixtures.url("data/wikitext-2-raw-v1/wiki.test.raw").path)")
p = perplexity(m, w, seqlen=32, limit=3)
print(round(p, 3))
g = generate(m, "The", max_tokens=4, temperature=0.8)
save(m, "saved/llama")
"""

@Test func aScriptLogReplaysAndATamperedOneFails() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try replayScript.write(to: dir.appendingPathComponent("s.come"), atomically: true, encoding: .utf8)
    let run = try ComeBinary.run(["run", "s.come"], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let log = try #require(ComeBinary.logs(in: dir).first)
    let text = try String(contentsOf: log, encoding: .utf8)
    #expect(text.split(separator: "\n").count == 7)   // header + 6 statements
    #expect(text.contains("\"resolved\":[\"seed\"]"))
    let ok = try ComeBinary.run(["replay", log.path], in: dir)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.contains("replayed 6 records"))

    // Alter the perplexity record's model fingerprint (the first read of record 3).
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let fp = try #require(lines[3].range(of: "\"reads\":[\"")).upperBound
    let c = lines[3][fp]
    lines[3].replaceSubrange(fp...fp, with: c == "0" ? "1" : "0")
    let bad = dir.appendingPathComponent("bad.jsonl")
    try lines.joined(separator: "\n").write(to: bad, atomically: true, encoding: .utf8)
    let r = try ComeBinary.run(["replay", bad.path], in: dir)
    #expect(r.status == 1)
    #expect(r.stderr.contains("record 3"))
    #expect(r.stderr.contains("perplexity"))
    #expect(r.stderr.contains("field reads"))

    // Cut the last record in half: the five complete records replay and the cut is reported.
    let cut = dir.appendingPathComponent("cut.jsonl")
    let full = Data(text.utf8)
    try full.prefix(full.count - lines[6].utf8.count / 2 - 1).write(to: cut)
    let t = try ComeBinary.run(["replay", cut.path], in: dir)
    #expect(t.status == 0, "\(t.stderr)")
    #expect(t.stdout.contains("replayed 5 records"))
    #expect(t.stderr.contains("cut off"))
    #expect(t.stderr.contains("line 7"))

    // Damage in the middle is refused with its line number.
    var mid = lines
    mid[2] = "{\"kind\": \"statement\", broken"
    let dm = dir.appendingPathComponent("mid.jsonl")
    try mid.joined(separator: "\n").write(to: dm, atomically: true, encoding: .utf8)
    let d = try ComeBinary.run(["replay", dm.path], in: dir)
    #expect(d.status == 1)
    #expect(d.stderr.contains("line 3"))
}

@Test func aKilledRunLeavesAReplayableLog() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let script = """
    m = load("\(Fixtures.model("opt").path)")
    n = m.layers * 2
    xs = range(n)
    i = 0
    while true { i = i + 1 }
    """
    try script.write(to: dir.appendingPathComponent("k.come"), atomically: true, encoding: .utf8)
    let pid = try Subprocess.start(ComeBinary.path, ["run", "k.come"], in: dir)
    // Wait until the three statements before the loop are logged, then SIGKILL.
    var log: URL?
    for _ in 0..<200 {
        if let l = ComeBinary.logs(in: dir).first, let s = try? String(contentsOf: l, encoding: .utf8),
           s.split(separator: "\n").count >= 5 { log = l; break }
        usleep(50_000)
    }
    kill(pid, SIGKILL)
    _ = Subprocess.wait(pid)
    let l = try #require(log)
    let r = try ComeBinary.run(["replay", l.path], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("replayed 4 records"))
}

@Test func replayRefusesWritesOutsideTheFolderWithoutPermission() throws {
    let dir = try Fixtures.temporaryDirectory()
    let outside = try Fixtures.temporaryDirectory("come-outside")
    defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: outside) }
    let script = "m = load(\"\(Fixtures.model("llama").path)\")\nsave(m, \"\(outside.path)/copy\")\n"
    try script.write(to: dir.appendingPathComponent("w.come"), atomically: true, encoding: .utf8)
    #expect(try ComeBinary.run(["run", "w.come"], in: dir).status == 0)
    let log = try #require(ComeBinary.logs(in: dir).first)
    let r = try ComeBinary.run(["replay", log.path], in: dir)
    #expect(r.status == 1)
    #expect(r.stderr.contains("--allow-effects"))
    try FileManager.default.removeItem(at: outside.appendingPathComponent("copy"))
    #expect(try ComeBinary.run(["replay", "--allow-effects", log.path], in: dir).status == 0)
}
