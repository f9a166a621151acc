// Zero-shot tasks as lm-evaluation-harness defines them: the templates on hand-made
// documents, every document of the seven real files against a Python oracle
// (scripts/oracles/zeroshot_prompts.py, which rebuilds them with Python's own str / re),
// lm-eval's token split against the tokenizers library, and log-likelihoods, acc and
// acc_norm on a fixture model against values computed here from the model's full logits.
import Corpora
import Crypto
import Evaluation
import Foundation
import Tensors
import TestSupport
import Testing
import Tokenizers
import Transformer

private func write(_ dir: URL, _ file: String, _ lines: [String]) throws {
    let u = dir.appendingPathComponent(file)
    try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
    try (lines.joined(separator: "\n") + "\n").write(to: u, atomically: true, encoding: .utf8)
}

/// A data folder with a few hand-made documents per task.
private func handMadeData() throws -> URL {
    let d = try Fixtures.temporaryDirectory("come-zeroshot")
    try write(d, "piqa/valid.jsonl", [#"{"goal": "How do I dry a wet phone?", "sol1": "Put it in rice.", "sol2": "Put it in water."}"#,
                                      #"{"goal": "To open a jar", "sol1": "twist the lid", "sol2": "twist the jar's label"}"#])
    try write(d, "piqa/valid-labels.lst", ["0", "1"])
    try write(d, "hellaswag/hellaswag_val.jsonl", [
        #"{"ind": 1, "activity_label": "Making a cake", "ctx_a": "[header] How to bake a cake [title] Preheat the oven.", "ctx_b": "THEN you", "label": 2, "endings": ["mix the [step] flour.", " stir  the eggs ", "pour the batter [substep] into a pan.", "eat it raw."]}"#,
        #"{"ind": 2, "activity_label": "Running", "ctx_a": "A man runs.", "ctx_b": "", "label": "0", "endings": ["He stops.", "He flies."]}"#,
    ])
    try write(d, "winogrande/dev.jsonl", [
        #"{"sentence": "The trophy didn't fit in the suitcase because the _ was too big.", "option1": "trophy", "option2": "suitcase", "answer": "1"}"#,
        #"{"sentence": "_ went home early.", "option1": "Anna", "option2": "Ben", "answer": "2"}"#,
    ])
    let arc = #"{"id": "q1", "question": {"stem": "Which is a gas?", "choices": [{"text": "ice", "label": "1"}, {"text": "steam", "label": "2"}, {"text": "rock", "label": "3"}]}, "answerKey": "2"}"#
    try write(d, "arc_easy/ARC-Easy-Test.jsonl", [arc])
    try write(d, "arc_challenge/ARC-Challenge-Test.jsonl", [
        #"{"id": "q2", "question": {"stem": "What melts?", "choices": [{"text": "butter", "label": "A"}, {"text": "glass at room temperature", "label": "B"}]}, "answerKey": "A"}"#])
    try write(d, "boolq/val.jsonl", [
        #"{"question": "is the sky blue", "passage": "Sky -- The sky is blue.", "idx": 0, "label": "true"}"#,
        #"{"question": "is fire cold", "passage": "Fire -- Fire is hot.", "idx": 1, "label": false}"#,
    ])
    try write(d, "openbookqa/test.jsonl", [
        #"{"id": "o1", "question": {"stem": "The sun is a", "choices": [{"text": "planet", "label": "A"}, {"text": "star", "label": "B"}, {"text": "moon", "label": "C"}, {"text": "comet", "label": "D"}]}, "answerKey": " B"}"#])
    return d
}

@Test func templatesOfEveryTask() throws {
    let d = try handMadeData()
    defer { try? FileManager.default.removeItem(at: d) }
    let piqa = try ZeroShotTask.piqa.documents(dataDir: d)
    #expect(piqa[0] == ZeroShotDoc(contexts: ["Question: How do I dry a wet phone?\nAnswer:", "Question: How do I dry a wet phone?\nAnswer:"],
                                   continuations: [" Put it in rice.", " Put it in water."], choices: ["Put it in rice.", "Put it in water."], gold: 0))
    #expect(piqa[1].gold == 1)
    // Hellaswag: ctx_b capitalised (the rest lower-cased), " [title]" → ". ", brackets
    // dropped, double spaces halved, each ending preprocessed too.
    let hs = try ZeroShotTask.hellaswag.documents(dataDir: d)
    #expect(hs[0].contexts[0] == "Making a cake: How to bake a cake. Preheat the oven. Then you")
    #expect(hs[0].choices == ["mix the flour.", "stir the eggs", "pour the batter into a pan.", "eat it raw."])
    #expect(hs[0].continuations[1] == " stir the eggs")
    #expect(hs[0].gold == 2 && hs[1].gold == 0)
    #expect(hs[1].contexts[0] == "Running: A man runs.")
    // Winogrande: the option replaces the blank in the context; the rest of the sentence is
    // the one continuation both options score.
    let wg = try ZeroShotTask.winogrande.documents(dataDir: d)
    #expect(wg[0].contexts == ["The trophy didn't fit in the suitcase because the trophy", "The trophy didn't fit in the suitcase because the suitcase"])
    #expect(wg[0].continuations == [" was too big.", " was too big."])
    #expect(wg[0].gold == 0 && wg[1].gold == 1)
    #expect(wg[1].contexts == ["Anna", "Ben"] && wg[1].continuations == [" went home early.", " went home early."])
    let ae = try ZeroShotTask.arc_easy.documents(dataDir: d)
    #expect(ae[0] == ZeroShotDoc(prompt: "Question: Which is a gas?\nAnswer:", choices: ["ice", "steam", "rock"], gold: 1))
    #expect(ae[0].continuations == [" ice", " steam", " rock"])
    let ac = try ZeroShotTask.arc_challenge.documents(dataDir: d)
    #expect(ac[0].gold == 0 && ac[0].contexts[0] == "Question: What melts?\nAnswer:")
    let bq = try ZeroShotTask.boolq.documents(dataDir: d)
    #expect(bq[0] == ZeroShotDoc(prompt: "Sky -- The sky is blue.\nQuestion: is the sky blue?\nAnswer:", choices: ["no", "yes"], gold: 1))
    #expect(bq[1].gold == 0)
    let ob = try ZeroShotTask.openbookqa.documents(dataDir: d)
    #expect(ob[0] == ZeroShotDoc(prompt: "The sun is a", choices: ["planet", "star", "moon", "comet"], gold: 1))
    #expect(ZeroShotTask.winogrande.metrics == ["acc"] && ZeroShotTask.boolq.metrics == ["acc"])
    #expect(ZeroShotTask.piqa.metrics == ["acc", "acc_norm"])
}

@Test func badFilesNameTheFileLineAndField() throws {
    let d = try Fixtures.temporaryDirectory("come-zeroshot-bad")
    defer { try? FileManager.default.removeItem(at: d) }
    try write(d, "winogrande/dev.jsonl", [#"{"sentence": "no blank here", "option1": "a", "option2": "b", "answer": "1"}"#])
    try write(d, "boolq/val.jsonl", [#"{"question": "q", "passage": "p", "label": "true"}"#, "{not json"])
    try write(d, "arc_easy/ARC-Easy-Test.jsonl", [#"{"question": {"stem": "s", "choices": [{"text": "a", "label": "A"}]}, "answerKey": "E"}"#])
    func message(_ t: ZeroShotTask) -> String {
        do { _ = try t.documents(dataDir: d); return "" } catch { return "\(error)" }
    }
    #expect(message(.winogrande).contains("winogrande/dev.jsonl:1: field `sentence`"))
    #expect(message(.boolq).contains("boolq/val.jsonl:2: not valid JSON"))
    #expect(message(.arc_easy).contains("ARC-Easy-Test.jsonl:1: field `answerKey`"))
    #expect(message(.piqa).contains("piqa/valid.jsonl does not exist"))
    #expect(throws: CorpusError.self) { try ZeroShotTask.parse("piqa,nosuchtask") }
    #expect(try ZeroShotTask.parse("all") == ZeroShotTask.allCases)
    #expect(try ZeroShotTask.parse("boolq, piqa") == [.boolq, .piqa])
}

private func framed(_ docs: [ZeroShotDoc]) -> String {
    var h = SHA256()
    for d in docs {
        let line = d.contexts.joined(separator: "\u{1f}") + "\u{1e}" + d.continuations.joined(separator: "\u{1f}") + "\u{1e}"
            + d.choices.joined(separator: "\u{1f}") + "\u{1e}" + String(d.gold) + "\n"
        h.update(data: Data(line.utf8))
    }
    return h.finalize().map { String(format: "%02x", $0) }.joined()
}

/// `python3 scripts/oracles/zeroshot_prompts.py ../shared/data`
private let promptOracle: [String: (Int, String)] = [
    "piqa": (1838, "957a05792da34d298a37d9f9584e67346fbd6da346504341e3d46da8f238be2c"),
    "hellaswag": (10042, "d695aa86333dcabe492faf5730b9f321895484058720c131e5027a37400a82ad"),
    "winogrande": (1267, "aea9f00f3378b2af4f842879f6c5112d7f11572b56f017ab70e57a675afc2893"),
    "arc_easy": (2376, "4e9b0fbb683f423a6cfff6c86ce0be68a5437cf5003c79ae98eb571a7eb784a1"),
    "arc_challenge": (1172, "84620e269eef1bdff0dbe85dbc4ac99e679119f00501bf40357071237a6aaa17"),
    "boolq": (3270, "aec9df0a63eed2b10e630fb8fdef4815040020c27e2b91fdba75bdb668808bbb"),
    "openbookqa": (500, "1150df84fab1be2aab5b14dbc756e2ada86136afa4f3797b0fba965061d969e1"),
]

@Test(arguments: ZeroShotTask.allCases)
func everyDocumentMatchesThePythonOracle(_ task: ZeroShotTask) throws {
    let docs = try task.documents(dataDir: Fixtures.url("data"))
    let (n, hash) = try #require(promptOracle[task.rawValue])
    #expect(docs.count == n)
    #expect(framed(docs) == hash)
}

/// `python3 scripts/oracles/zeroshot_prompts.py ../shared/data ../shared/fixtures/tokenizers/smollm2/tokenizer.json`
private let tokenOracle: [String: String] = [
    "piqa": "92b35c9bb2ecda50e8d351397919570bcda1d45413ff7c0de59ee69a68338eeb",
    "hellaswag": "218d20e6363506b9fb625dcb03c20f6108d315ea3794594ac4ee45f16b497e00",
    "winogrande": "6a3cbea20a083530cec057d84420ba0505c283d3396d92ea6a28c02307f78d0a",
    "arc_easy": "5fb825e4c0929386560bc9406d57e443b2e4e5b73a665c071f4f4b4decf693e3",
    "arc_challenge": "b05ef3070f7c40bcbe6a037bd05b2f658064f7f8db9e63a4e5e5e465133ae076",
    "boolq": "7bbdaa884b5220c777ff3789e6ca5d57a9aef554575059950e8b70448627b36a",
    "openbookqa": "f37dd8cebbde47749b9467eb2052156652cc75c29fdf14c70769eb95af93e4ac",
]

@Test func tokenSplitsMatchTheTokenizersLibrary() throws {
    let tok = try Tokenizer.load(Fixtures.url("fixtures/tokenizers/smollm2/tokenizer.json"))
    for task in ZeroShotTask.allCases {
        var h = SHA256()
        for d in try task.documents(dataDir: Fixtures.url("data")).prefix(40) {
            for (c, k) in zip(d.contexts, d.continuations) {
                let r = ZeroShot.encodePair(tok, context: c, continuation: k)
                h.update(data: Data((r.context.map(String.init).joined(separator: " ") + "|" + r.continuation.map(String.init).joined(separator: " ") + "\n").utf8))
            }
        }
        #expect(h.finalize().map { String(format: "%02x", $0) }.joined() == tokenOracle[task.rawValue], "\(task)")
    }
}

@Test func encodePairMovesTrailingSpaceToTheContinuation() throws {
    let tok = try Tokenizer.load(Fixtures.url("fixtures/tokenizers/smollm2/tokenizer.json"))
    let r = ZeroShot.encodePair(tok, context: "Answer: ", continuation: "yes")
    #expect(r.context == tok.encode("Answer:", addSpecialTokens: false))
    #expect(r.context + r.continuation == tok.encode("Answer: yes", addSpecialTokens: false))
    let e = ZeroShot.encodePair(tok, context: "", continuation: " yes")
    #expect(e.context == [tok.bosId ?? tok.eosId ?? 0])
}

/// Σ log softmax(logits)[target] over the continuation, from one forward of ctx+cont with
/// all logits, in float64.
private func independentLL(_ m: Model, _ r: LoglikelihoodRequest, maxLength: Int = 1 << 30) throws -> Double {
    let all = r.context + r.continuation
    let input = Array(all.suffix(min(all.count, maxLength + 1)).dropLast())
    let n = min(r.continuation.count, input.count)
    let out = try m.forward([input], options: ForwardOptions(logits: .all))
    let V = m.vocabSize, T = input.count
    let logits = try #require(out.logits).data
    var total = 0.0
    for (j, target) in r.continuation.suffix(n).enumerated() {
        let p = T - n + j
        let row = logits[(p * V)..<((p + 1) * V)].map(Double.init)
        let mx = row.max()!
        let lse = mx + log(row.reduce(0) { $0 + exp($1 - mx) })
        total += row[target] - lse
    }
    return total
}

@Test func loglikelihoodsEqualIndependentLogSoftmax() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    let V = m.vocabSize
    var rng = SplitMix64(seed: 7)
    func ids(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(V)) } }
    let ctxA = ids(9), ctxB = ids(4)
    var requests = [
        LoglikelihoodRequest(context: ctxA, continuation: ids(3)),
        LoglikelihoodRequest(context: ctxA, continuation: ids(5)),
        LoglikelihoodRequest(context: ctxA, continuation: ids(1)),
        LoglikelihoodRequest(context: ctxA, continuation: ids(1)),
        LoglikelihoodRequest(context: ctxB, continuation: ids(2)),
        LoglikelihoodRequest(context: ids(6), continuation: ids(4)),
    ]
    requests.append(requests[1])  // a duplicate reads the same positions
    for batch in [1, 3, 8] {
        let r = try ZeroShot.loglikelihoods(m, requests, batch: batch)
        for (q, req) in requests.enumerated() {
            let want = try independentLL(m, req)
            #expect(abs(r.values[q] - want) < 1e-4 * max(1, abs(want)), "request \(q) batch \(batch): \(r.values[q]) vs \(want)")
        }
        // Rows: ctxA's four requests in one, ctxB, the lone one.
        #expect(r.rows == 3)
    }
    // Inputs longer than the context are left-truncated as lm-eval does.
    let long = LoglikelihoodRequest(context: ids(20), continuation: ids(3))
    let t = try ZeroShot.loglikelihoods(m, [long], batch: 1, maxLength: 10)
    #expect(abs(t.values[0] - (try independentLL(m, long, maxLength: 10))) < 1e-4)
}

@Test func packedSegmentsSeeWhatEachContinuationSeesAlone() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    let ctx = [5, 17, 33], a = [40, 41], b = [50, 51, 52]
    var opts = ForwardOptions(positionIds: [[0, 1, 2, 3, 4, 3, 4, 5]], logits: .none)
    opts.segments = [[0, 0, 0, 1, 1, 2, 2, 2]]
    let packed = try m.forward([ctx + a + b], options: opts).finalNormOutput.data
    let alone = [try m.forward([ctx + a], options: ForwardOptions(logits: .none)).finalNormOutput.data,
                 try m.forward([ctx + b], options: ForwardOptions(logits: .none)).finalNormOutput.data]
    let H = m.hiddenSize
    func rows(_ x: [Float], _ r: Range<Int>) -> [Float] { Array(x[(r.lowerBound * H)..<(r.upperBound * H)]) }
    let d1 = zip(rows(packed, 0..<5), rows(alone[0], 0..<5)).map { abs($0 - $1) }.max()!
    let d2 = zip(rows(packed, 5..<8), rows(alone[1], 3..<6)).map { abs($0 - $1) }.max()!
    #expect(d1 < 1e-5 && d2 < 1e-5, "\(d1) \(d2)")
}

@Test func accAndAccNormAgainstIndependentLogLikelihoods() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    let tok = try #require(m.tokenizer)
    // Choices of different lengths in characters and bytes ("é" is two bytes, one character).
    let docs = [
        ZeroShotDoc(prompt: "Question: the cat sat on the\nAnswer:", choices: ["mat", "résumé café", "a very long answer indeed"], gold: 0),
        ZeroShotDoc(prompt: "Question: two plus two\nAnswer:", choices: ["four", "five five five", "zero"], gold: 2),
        ZeroShotDoc(contexts: ["The dog chased the cat", "The dog chased the ball"], continuations: [" across the yard.", " across the yard."],
                    choices: ["The dog chased the cat", "The dog chased the ball"], gold: 1),
        ZeroShotDoc(prompt: "Passage.\nQuestion: is it?\nAnswer:", choices: ["no", "yes"], gold: 1),
    ]
    let r = try ZeroShot.evaluate(m, task: .arc_easy, documents: docs, batch: 2)
    var accs: [Double] = [], norms: [Double] = []
    for (k, d) in docs.enumerated() {
        let lls = try zip(d.contexts, d.continuations).map { c, x in
            try independentLL(m, ZeroShot.encodePair(tok, context: c, continuation: x))
        }
        for (a, b) in zip(lls, r.logLikelihoods[k]) { #expect(abs(a - b) < 1e-4 * max(1, abs(a))) }
        let best = lls.indices.max { lls[$0] < lls[$1] }!
        let normed = zip(lls, d.choices).map { $0 / Double($1.unicodeScalars.count) }
        let bestNorm = normed.indices.max { normed[$0] < normed[$1] }!
        accs.append(best == d.gold ? 1 : 0)
        norms.append(bestNorm == d.gold ? 1 : 0)
    }
    #expect(r.acc == accs.reduce(0, +) / 4)
    #expect(r.accNorm == norms.reduce(0, +) / 4)
    #expect(r.requests == 10)
    let mean = accs.reduce(0, +) / 4
    let sd = (accs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
    #expect(abs(r.accStderr - sd / 2) < 1e-12)
    // winogrande and boolq report acc only.
    #expect(try ZeroShot.evaluate(m, task: .boolq, documents: [docs[3]]).accNorm == nil)
}

@Test func stderrArgmaxAndLimitFollowLmEval() {
    #expect(abs(ZeroShot.stderr([1, 0, 1, 1]) - 0.25) < 1e-12)
    #expect(ZeroShot.stderr([1]).isNaN)
    // First maximum wins, as numpy's argmax; acc_norm divides by characters.
    #expect(ZeroShot.predictions([-2, -1, -1], choices: ["a", "b", "c"]) == (acc: 1, accNorm: 1))
    #expect(ZeroShot.predictions([-3, -4], choices: ["abc", "éééééééé"]).accNorm == 1)
    #expect(ZeroShot.limited(100, limit: 0.1) == 10)
    #expect(ZeroShot.limited(7, limit: 0.5) == 4)
    #expect(ZeroShot.limited(100, limit: 300) == 100)
    #expect(ZeroShot.limited(1838, limit: 300) == 300)
    #expect(ZeroShot.limited(5, limit: nil) == 5)
}

@Test func resultsJSONKeepsLmEvalsKeys() throws {
    let r = ZeroShotTaskResult(task: .piqa, documents: 4, available: 1838, acc: 0.75, accStderr: 0.25, accNorm: 0.5, accNormStderr: 0.2886751345948129,
                               requests: 8, rows: 4, tokens: 100, seconds: 2, logLikelihoods: [], golds: [])
    let w = ZeroShotTaskResult(task: .winogrande, documents: 4, available: 1267, acc: 0.5, accStderr: 0.2886751345948129, accNorm: nil, accNormStderr: nil,
                               requests: 8, rows: 8, tokens: 100, seconds: 2, logLikelihoods: [], golds: [])
    let rep = ZeroShotReport(model: "m", results: [r, w], limit: 4, batch: 8)
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(rep.json().utf8)) as? [String: Any])
    let res = try #require(obj["results"] as? [String: [String: Any]])
    let piqa = try #require(res["piqa"]), wino = try #require(res["winogrande"])
    let acc = piqa["acc,none"] as? Double, se = piqa["acc_norm_stderr,none"] as? Double
    #expect(acc == 0.75)
    #expect(se == 0.2886751345948129)
    #expect(wino["acc_norm,none"] == nil)
    let samples = obj["n-samples"] as? [String: [String: Int]]
    #expect(samples?["piqa"]?["effective"] == 4)
    #expect(abs(rep.averageHeadline - 0.5) < 1e-12)   // (0.5 acc_norm + 0.5 acc) / 2
    let table = rep.markdown()
    #expect(table.contains("|piqa      |      1|none  |     0|acc         |↑|0.7500|±|0.2500|"))
    #expect(table.contains("|acc_norm    |↑|0.5000|±|0.2887|"))
}
