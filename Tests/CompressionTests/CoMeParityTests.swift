// Parity of `concat_merge` with the reference's golden runs (fixtures/reference README):
// fed the stored calibration streams, every decision (merge lists, layouts, budgets via the
// merged weights) equal, BI / skip scores and channel scores within 1e-4 relative, and
// the merged weights equal to the stored ones within 1e-6.
import Checkpoints
import Compression
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

/// Every phase record, the final layout history, the per-step channel scores and (when
/// stored) the pruned weights.
func checkCoMeRun(_ name: String, parity: Bool = false) throws {
    let run = ReferenceRun(name)
    let ref = try #require(try run.info())
    let (outcome, model, dir) = try runJob(run, parity: parity)
    defer { try? FileManager.default.removeItem(at: dir) }
    let got = outcome.info
    let refPhases = ref.keys.filter { $0.contains("_to_") }
    #expect(got.keys.filter { $0.contains("_to_") } == refPhases, "\(name): phases")
    // The reference's keys in its order, then come's own trailing `come` record.
    #expect(Array(got.keys.prefix(ref.keys.count)) == ref.keys, "\(name): key order \(got.keys) vs \(ref.keys)")
    for ph in refPhases {
        guard let g = got[ph], let r = ref[ph] else { continue }
        #expect(g.keys == r.keys, "\(name) \(ph): keys")
        #expect(g["merge_info"] == r["merge_info"], "\(name) \(ph): layout \(String(describing: g["merge_info"]))")
        #expect(g["merge_list"]?.ints == r["merge_list"]?.ints, "\(name) \(ph): merge list")
        expectNumbers(g["merge_ratio"]!.numbers!, r["merge_ratio"]!.numbers!, "\(name) \(ph) merge_ratio")
        expectNumbers(g["layer_importance_skip"]!.numbers!, r["layer_importance_skip"]!.numbers!, "\(name) \(ph) skip", abs: 1e-9)
        expectNumbers(g["layer_importance"]!.numbers!, r["layer_importance"]!.numbers!, "\(name) \(ph) BI")
    }
    #expect(got["merge_info"] == ref["merge_info"], "\(name): merge history")
    try checkImportance(run, outcome.coMeSteps)
    // The pruned weights, and the saved checkpoint against them.
    let refModelURL = run.url("final_model.safetensors")
    if FileManager.default.fileExists(atPath: refModelURL.path) {
        let refW = try SafetensorsFile(refModelURL)
        var mine: [String: Tensor] = [:]
        for (n, t) in model.namedTensors() { mine[n] = t }
        for n in refW.names where !(n == "lm_head.weight" && mine[n] == nil) {
            let want = try refW.tensor(n)
            guard let g = mine[n] else { Issue.record("\(name): no tensor \(n)"); continue }
            #expect(g.shape == want.shape, "\(name) \(n): shape")
            if g.shape == want.shape { expectClose(g.data, want.data, "\(name) \(n)", tol: 1e-6) }
        }
        let saved = try #require(outcome.savedModels.last)
        let reloaded = try Model.load(saved.path)
        #expect(reloaded.numLayers == model.numLayers)
        #expect(reloaded.mergeTree == model.mergeTree, "\(name): merge tree restored from config.json")
        let cfg = try JSONValue.parse(Data(contentsOf: saved.appendingPathComponent("config.json")))
        #expect(cfg["num_hidden_layers"]?.intValue == model.numLayers)
        #expect(cfg["come_merge_tree"] != nil)
    }
}

/// step{k}.neuron.{l} / step{k}.headgroup.{l} of the reference against our per-step scores.
func checkImportance(_ run: ReferenceRun, _ steps: [CoMeStep]) throws {
    let f = try SafetensorsFile(run.url("importance.safetensors"))
    for (k, s) in steps.enumerated() {
        guard f.names.contains("step\(k).neuron.0") else { continue }
        for l in 0..<s.scores.neuron.count {
            let n = try f.tensor("step\(k).neuron.\(l)").data, h = try f.tensor("step\(k).headgroup.\(l)").data
            let nmax = n.map { abs($0) }.max() ?? 0, hmax = h.map { abs($0) }.max() ?? 0
            expectNumbers(s.scores.neuron[l].map(Double.init), n.map(Double.init), "\(run.name) step\(k) neuron \(l)", abs: 1e-6 * Double(nmax))
            expectNumbers(s.scores.headGroup[l].map(Double.init), h.map(Double.init), "\(run.name) step\(k) headgroup \(l)", abs: 1e-6 * Double(hmax))
        }
    }
}

@Suite("concat_merge parity with the reference runs", .serialized)
struct CoMeParityTests {
    @Test(arguments: ["cm_llama_bi", "cm_llama_mha", "cm_llama_mi3", "cm_llama_psu", "cm_llama_sleb", "cm_opt_bi", "cm_qwen3_bi",
                      "cm_llama_mka_worepeat"])
    func tinyRun(_ name: String) throws {
        try checkCoMeRun(name)
    }

    /// The tiny GQA models never exercise the tiled rule (README); the parity switch must not
    /// change their outcome either.
    @Test func parityChangesNothingOnTinyGQA() throws {
        try checkCoMeRun("cm_llama_bi", parity: true)
    }
}
