// The first-cut command line: info, generate and ppl on a fixture model, plain progress
// lines when stderr is not a terminal, and the refusal of hub names.
import Foundation
import TestSupport
import Testing

@Test func infoGeneratePPLOnAFixtureModel() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let llama = Fixtures.model("llama").path
    let info = try ComeBinary.run(["info", llama], in: dir)
    #expect(info.status == 0)
    #expect(info.stdout.contains("LlamaForCausalLM"))
    #expect(info.stdout.contains("4 query, 2 key/value, head dim 16"))
    #expect(info.stdout.contains("(324416)"))   // checks.json n_parameters
    let gen = try ComeBinary.run(["generate", llama, "When we speak of free software", "--max-tokens", "8"], in: dir)
    #expect(gen.status == 0)
    #expect(gen.stderr.contains("new tokens"))
    let ppl = try ComeBinary.run(["ppl", llama, "--data", Fixtures.url("data/wikitext-2-raw-v1/wiki.test.raw").path,
                                  "--seqlen", "64", "--limit", "4"], in: dir)
    #expect(ppl.status == 0, "\(ppl.stderr)")
    #expect(ppl.stdout.contains("windows 4"))
    #expect(ppl.stderr.contains("ppl: 4/4 windows"))   // plain progress lines off a terminal
    let hub = try ComeBinary.run(["info", "HuggingFaceTB/SmolLM2-135M"], in: dir)
    #expect(hub.status == 1)
    #expect(hub.stderr.contains("never downloads weights"))
    let missing = try ComeBinary.run(["info", "./nowhere"], in: dir)
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("no such file or folder"))
}

/// --threads changes only rounding. Run as separate processes: setting the global thread
/// count inside the test process raced with parallel tests that compare logits exactly.
@Test func threadCountDoesNotChangeResults() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var nll: [Double] = []
    for t in ["1", "2"] {
        let r = try ComeBinary.run(["ppl", Fixtures.model("qwen3").path, "--data", Fixtures.url("data/wikitext-2-raw-v1/wiki.test.raw").path,
                                    "--seqlen", "64", "--limit", "4", "--batch", "4", "--threads", t], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let field = try #require(r.stdout.components(separatedBy: "mean NLL ").last?.split(separator: " ").first)
        nll.append(try #require(Double(field)))
    }
    #expect(abs(nll[0] - nll[1]) <= 1e-5 * max(1, abs(nll[0])))
}
