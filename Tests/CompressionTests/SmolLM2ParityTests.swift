// cm_smollm2: CoMe 30 → 27 on SmolLM2-135M (GQA 9/3) against the reference run, which used
// the tiled query-head rule (Q2); with --reference-parity every decision, score, tensor sum
// and the pruned model's logits and perplexity match, and the default GQA rule keeps the
// query heads of the kept groups instead.
import Checkpoints
import Compression
import Evaluation
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

@Suite("cm_smollm2 parity", .serialized)
struct SmolLM2ParityTests {
    @Test func referenceParityRun() throws {
        guard Fixtures.defaultModel != nil else { Issue.record("default model missing: run scripts/setup"); return }
        let run = ReferenceRun("cm_smollm2")
        let ref = try #require(try run.info())
        let dir = try Fixtures.temporaryDirectory("come-smollm2")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = try run.config(save: dir)
        c.referenceParity = true
        c.saveModels = false
        c.pplData = []
        var m = try run.model()
        let out = try PruneJob(c).run(&m)
        let got = out.info
        for ph in ref.keys where ph.contains("_to_") {
            let g = try #require(got[ph]), r = ref[ph]!
            #expect(g["merge_info"] == r["merge_info"], "\(ph): layout")
            #expect(g["merge_list"]?.ints == r["merge_list"]?.ints, "\(ph): merge list")
            expectNumbers(g["merge_ratio"]!.numbers!, r["merge_ratio"]!.numbers!, "\(ph) merge_ratio")
            expectNumbers(g["layer_importance_skip"]!.numbers!, r["layer_importance_skip"]!.numbers!, "\(ph) skip")
            expectNumbers(g["layer_importance"]!.numbers!, r["layer_importance"]!.numbers!, "\(ph) BI")
        }
        #expect(got["merge_info"] == ref["merge_info"])
        try checkImportance(run, out.coMeSteps)
        // Kept query heads as the README lists them for the tiled rule.
        let tiled: [[[Int]]] = [[[0, 2, 3, 5, 6, 8], [2, 5, 8]], [[0, 3, 6], [0, 1, 3, 4, 6, 7]], [[1, 2, 4, 5, 7, 8], [1, 4, 7]]]
        #expect(out.coMeSteps.map(\.plan.keptQueryHeads) == tiled)
        #expect(out.coMeSteps.map(\.plan.keptGroups) == [[[0, 2], [2]], [[0], [0, 1]], [[1, 2], [1]]])
        // Every tensor: float64 sum and sum of |x| of the reference's saved weights.
        let tj = try JSONValue.parse(Data(contentsOf: run.url("final_model_tensors.json")))
        let refT = try #require(tj["tensors"]?.objectValue)
        var mine: [String: Tensor] = [:]
        for (n, t) in m.namedTensors() { mine[n] = t }
        #expect(Set(mine.keys) == Set(refT.keys))
        for (n, r) in refT {
            guard let t = mine[n] else { continue }
            #expect(t.shape == r["shape"]!.arrayValue!.compactMap(\.intValue), "\(n) shape")
            let s = t.data.reduce(0.0) { $0 + Double($1) }, a = t.data.reduce(0.0) { $0 + Double(abs($1)) }
            let rs = r["sum"]!.doubleValue!, ra = r["abs_sum"]!.doubleValue!
            #expect(abs(a - ra) <= 1e-6 * ra, "\(n): abs sum \(a) vs \(ra)")
            #expect(abs(s - rs) <= 1e-6 * ra, "\(n): sum \(s) vs \(rs)")
        }
        // The pruned model's last-position logits as transformers computes them from the saved folder.
        let fl = try SafetensorsFile(run.url("final_logits.safetensors"))
        for p in ["capital", "prose"] {
            let ids = try fl.int64s("\(p).input_ids").map { Int($0) }
            let r = try m.forward([ids], options: ForwardOptions(logits: .last))
            let want = try fl.tensor("\(p).last_logits").data
            expectClose(r.logits!.data, want, "\(p) logits", tol: 1e-3 * max(1, want.map { abs($0) }.max()!))
        }
        // wiki2 perplexity on the stored 16 × 256 test stream.
        let ps = try SafetensorsFile(run.url("ppl_stream.safetensors")).int64s("input_ids").map { Int($0) }
        let ppl = try Perplexity.evaluate(m, windows: Perplexity.windows(ps, seqlen: 256)).perplexity
        let want = try run.run["ppl_after"]!.number!
        #expect(abs(ppl - want) <= 1e-4 * want, "ppl \(ppl) vs reference \(want)")
    }

    /// Without parity the GQA rule keeps query heads 3g…3g+2 of each kept group g.
    @Test func correctGQAKeepsGroupHeads() throws {
        guard Fixtures.defaultModel != nil else { return }
        let run = ReferenceRun("cm_smollm2")
        var c = try run.config(save: nil)
        c.targetLayers = 29
        c.saveModels = false
        var m = try run.model()
        let out = try PruneJob(c).run(&m)
        let p = try #require(out.coMeSteps.first?.plan)
        #expect(p.keptGroups == [[0, 2], [2]])
        #expect(p.keptQueryHeads == [[0, 1, 2, 6, 7, 8], [6, 7, 8]])
    }
}
