// Perplexity protocol (reference-algorithms.md §2.2) on the default model against an
// independent float64 numpy implementation (scripts/oracles/smollm2_ppl.py, run with
// S = 256, 16 windows): token count, per-window losses and the perplexity.
import Corpora
import Evaluation
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

/// Output of `python3 scripts/oracles/smollm2_ppl.py models/SmolLM2-135M-Instruct.Q4_1.gguf ../shared 256 16`.
let oracleTokens = 304_986
let oracleWindowLoss: [Double] = [
    3.5651930567091115, 3.298900098479723, 3.4930777126987196, 4.0975066106351985,
    3.7197435791543882, 3.639001927294038, 3.9738136514333227, 3.7183099366217403,
    3.7919752544255054, 3.5438578933095184, 3.1791846222750935, 3.72122159749476,
    3.657181710171891, 3.7053096685441114, 3.7538031145141217, 3.968975619355282,
]
let oraclePPL = 39.515421100276036

@Test func wikitextRowsFollowTheHFLoader() throws {
    let dir = try Fixtures.temporaryDirectory()
    let f = dir.appendingPathComponent("wiki.test.raw")
    try " \n = Title = \n \n Body text .\n".write(to: f, atomically: true, encoding: .utf8)
    let rows = try TextCorpus.wikitextRows(f)
    #expect(rows == ["", " = Title = \n", "", " Body text .\n"])
    #expect(try TextCorpus.wikitextEvaluationText(f) == "\n\n = Title = \n\n\n\n\n Body text .\n")
}

@Test func windowsDropTheTailAndRefuseShortText() throws {
    let w = try Perplexity.windows(Array(0..<10), seqlen: 4)
    #expect(w == [[0, 1, 2, 3], [4, 5, 6, 7]])
    #expect(try Perplexity.windows(Array(0..<10), seqlen: 4, limit: 1).count == 1)
    #expect(throws: CorpusError.self) { try Perplexity.windows(Array(0..<3), seqlen: 4) }
}

@Test func smolLM2WikiText2PerplexityMatchesTheFloat64Oracle() throws {
    guard let path = Fixtures.defaultModel else { throw CorpusError("the default model is missing: run scripts/setup") }
    let m = try Model.load(path.path)
    let (ids, _) = try PerplexityData.wiki2(split: "test").tokens(m.tokenizer!, seqlen: 256, dataDir: Fixtures.url("data"))
    #expect(ids.count == oracleTokens)
    let windows = try Perplexity.windows(ids, seqlen: 256, limit: 16)
    let r = try Perplexity.evaluate(m, windows: windows, batch: 8)
    for (i, l) in oracleWindowLoss.enumerated() {
        #expect(abs(r.windowLosses[i] - l) < 1e-5, "window \(i): \(r.windowLosses[i]) vs \(l)")
    }
    // Four significant digits of the perplexity.
    #expect(abs(r.perplexity - oraclePPL) / oraclePPL < 1e-5, "ppl \(r.perplexity) vs \(oraclePPL)")
}
