// `come eval` and the zeroshot builtin on a fixture model and the real task files: the
// table, the results JSON in lm-eval's layout (written atomically), equal numbers from the
// CLI and the builtin, the in-process cache, and clear errors for bad options.
import Foundation
import TestSupport
import Testing

@Test func evalCommandWritesLmEvalResults() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let llama = Fixtures.model("llama").path
    let r = try ComeBinary.run(["eval", llama, "--tasks", "piqa,winogrande,boolq", "--limit", "6", "--batch", "4",
                                "--data-dir", Fixtures.url("data").path, "--output", "out/results.json"], in: dir)
    #expect(r.status == 1, "the output folder does not exist yet")
    #expect(r.stderr.contains("cannot write out/results.json"))
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
    let ok = try ComeBinary.run(["eval", llama, "--tasks", "piqa,winogrande,boolq", "--limit", "6", "--batch", "4",
                                 "--data-dir", Fixtures.url("data").path, "--output", "out/results.json"], in: dir)
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.contains("|piqa      |      1|none  |     0|acc "))
    #expect(ok.stdout.contains("|boolq     |      2|"))
    #expect(ok.stderr.contains("piqa: 6 documents, 12 requests"))
    #expect(ok.stderr.contains("requests/s"))
    let data = try Data(contentsOf: dir.appendingPathComponent("out/results.json"))
    let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let results = try #require(obj["results"] as? [String: [String: Any]])
    #expect(Set(results.keys) == ["piqa", "winogrande", "boolq"])
    let piqaAcc = try #require(results["piqa"]?["acc,none"] as? Double)
    #expect((piqaAcc * 6).rounded() == piqaAcc * 6, "an accuracy over 6 documents is k/6")
    #expect(results["boolq"]?["acc_norm,none"] == nil)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out").path)
    #expect(leftovers == ["results.json"])

    // The builtin gives the same numbers and a second call comes from the cache.
    let script = """
    m = load("\(llama)")
    r = zeroshot(m, tasks="piqa", limit=6, batch=2, data_dir="\(Fixtures.url("data").path)")
    print(r.acc.piqa)
    r2 = zeroshot(m, tasks=["piqa"], limit=6, data_dir="\(Fixtures.url("data").path)")
    print(r2.acc.piqa == r.acc.piqa)
    print(r.documents.piqa)
    """
    let s = try ComeBinary.run(["--no-log", "-e", script], in: dir)
    #expect(s.status == 0, "\(s.stderr)")
    let lines = s.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count >= 3)
    if lines.count >= 3 {
        #expect(abs((Double(lines[0]) ?? -1) - piqaAcc) < 1e-9, "\(lines[0]) vs \(piqaAcc)")
        #expect(lines[1] == "true")
        #expect(lines[2] == "6")
    }
}

@Test func evalCommandRefusesBadOptions() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let llama = Fixtures.model("llama").path
    let bad = try ComeBinary.run(["eval", llama, "--tasks", "piqa,mmlu"], in: dir)
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("unknown task `mmlu`"))
    let zero = try ComeBinary.run(["eval", llama, "--limit", "0"], in: dir)
    #expect(zero.status != 0)
    #expect(zero.stderr.contains("--limit must be positive"))
    let noData = try ComeBinary.run(["eval", llama, "--tasks", "piqa", "--data-dir", dir.path], in: dir)
    #expect(noData.status == 1)
    #expect(noData.stderr.contains("piqa/valid.jsonl does not exist"))
    let s = try ComeBinary.run(["--no-log", "-e", "m = load(\"\(llama)\")\nzeroshot(m, tasks=\"nope\")"], in: dir)
    #expect(s.status != 0)
    #expect(s.stderr.contains("unknown task `nope`"))
}

@Test func compareReportsRetainedShareAndAFigure() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = Fixtures.model("llama").path, b = Fixtures.model("llama_tied").path
    let data = Fixtures.url("data").path
    let script = """
    dense = load("\(a)")
    other = load("\(b)")
    c = compare({dense: dense, tied: other}, tasks=["piqa", "boolq"], limit=5, ppl=["wiki2"], seqlen=64, ppl_limit=2, data_dir="\(data)")
    z = zeroshot(other, tasks=["piqa", "boolq"], limit=5, data_dir="\(data)")
    zd = zeroshot(dense, tasks=["piqa", "boolq"], limit=5, data_dir="\(data)")
    print(c.retained.dense)
    print(abs(c.retained.tied - z.average / zd.average) < 1e-12)
    print(c.average.tied == z.average)
    print(c.parameters.tied)
    print(len(c.figure.svg) > 500)
    c
    """
    let r = try ComeBinary.run(["--no-log", "-e", script], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count > 5)
    if lines.count > 5 {
        #expect(lines[0] == "1.0")
        #expect(lines[1] == "true")
        #expect(lines[2] == "true")
        #expect(lines[3] == "291648")
        #expect(lines[4] == "true")
    }
    #expect(r.stdout.contains("retained"))
    #expect(r.stdout.contains("100.0 %"))
    #expect(r.stdout.contains("ppl wiki2"))

    let cli = try ComeBinary.run(["eval", a, b, "--tasks", "piqa", "--limit", "4", "--data-dir", data, "--no-latency",
                                  "--figure", "cmp.svg"], in: dir)
    #expect(cli.status == 0, "\(cli.stderr)")
    #expect(cli.stdout.contains("| model"))
    #expect(!cli.stdout.contains("speedup"))
    let svg = try String(contentsOf: dir.appendingPathComponent("cmp.svg"), encoding: .utf8)
    #expect(svg.hasPrefix("<svg") && svg.contains(a) && svg.contains(b))
}
