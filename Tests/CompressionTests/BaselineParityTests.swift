// Parity of the removal baselines (SLEB, ShortGPT, Reverse, Magnitude/Magnitude+) with the
// reference's golden runs, and the --wo-repeat run on which the reference crashes (Q5).
import Checkpoints
import Compression
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

/// The pruned weights equal the reference's saved model (layers are copies: exact).
func checkFinalWeights(_ run: ReferenceRun, _ model: Model) throws {
    let refW = try SafetensorsFile(run.url("final_model.safetensors"))
    var mine: [String: Tensor] = [:]
    for (n, t) in model.namedTensors() { mine[n] = t }
    #expect(Set(refW.names) == Set(mine.keys), "\(run.name): tensor names")
    for n in refW.names {
        guard let g = mine[n] else { continue }
        let want = try refW.tensor(n)
        #expect(g.shape == want.shape, "\(run.name) \(n)")
        if g.shape == want.shape { expectClose(g.data, want.data, "\(run.name) \(n)", tol: 1e-6) }
    }
}

@Suite("baseline parity with the reference runs", .serialized)
struct BaselineParityTests {
    @Test func shortGPT() throws {
        let run = ReferenceRun("shortgpt_llama")
        let ref = try #require(try run.info())
        let (out, m, dir) = try runJob(run)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(out.info.keys == ref.keys + ["come"])
        expectNumbers(out.info["layer_importance"]!.numbers!, ref["layer_importance"]!.numbers!, "BI")
        #expect(out.info["sorted_indices"] == ref["sorted_indices"])
        #expect(out.info["Layers_3"] == ref["Layers_3"])
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("shortgpt_info.json").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("llama_shortgpt_3/config.json").path))
        try checkFinalWeights(run, m)
    }

    @Test func reverse() throws {
        let run = ReferenceRun("reverse_llama")
        let ref = try #require(try run.info())
        let (out, m, dir) = try runJob(run)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(InfoJSON.object(out.info.keys.dropLast().map { ($0, out.info[$0]!) }) == ref)
        #expect(out.info.keys.last == "come")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("reverse_info_5.json").path))
        try checkFinalWeights(run, m)
    }

    @Test(arguments: ["magnitude_llama", "magnitude_llama_mean"])
    func magnitude(_ name: String) throws {
        let run = ReferenceRun(name)
        let ref = try #require(try run.info())
        let (out, m, dir) = try runJob(run, parity: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(out.info.keys == ref.keys + ["come"])
        expectNumbers(out.info["layer_importance"]!.numbers!, ref["layer_importance"]!.numbers!, "\(name) scores", rel: 1e-6)
        #expect(out.info["sorted_indices"] == ref["sorted_indices"])
        #expect(out.info["Layers_3"] == ref["Layers_3"])
        // Under parity the file is named `magnitude+` with or without --heuristic (Q14).
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("magnitude+_info.json").path))
        try checkFinalWeights(run, m)
    }

    /// Taylor+ with gradients accumulated over the 8 windows as the reference does (Q15).
    @Test func taylor() throws {
        let run = ReferenceRun("taylor_llama")
        let ref = try #require(try run.info())
        let (out, m, dir) = try runJob(run, parity: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(out.info.keys == ref.keys + ["come"])
        expectNumbers(out.info["layer_importance"]!.numbers!, ref["layer_importance"]!.numbers!, "taylor scores", rel: 1e-4)
        #expect(out.info["sorted_indices"] == ref["sorted_indices"])
        #expect(out.info["Layers_3"] == ref["Layers_3"])
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("taylor+_info.json").path))
        try checkFinalWeights(run, m)
    }

    /// The default zeroes the gradients per window: each window's score uses its own
    /// gradient, so the totals differ from the reference's running sums.
    @Test func taylorZeroesGradientsByDefault() throws {
        let run = ReferenceRun("taylor_llama")
        let m = try run.model()
        let stream = try PruneJob.loadStream(run.url("calibration_stream.safetensors")).windows(seqlen: try run.seqlen)
        let w = CalibrationWindows(ids: stream.ids, masks: stream.masks)
        #expect(w.count == 8)
        let fresh = try Baselines.taylorScores(m, windows: w, weight: .sum, block: .sum)
        let running = try Baselines.taylorScores(m, windows: w, weight: .sum, block: .sum, accumulate: true)
        // Window by window: the sum of per-window scores equals the default's total.
        var perWindow = [Double](repeating: 0, count: m.numLayers)
        for i in 0..<w.count {
            let one = try Baselines.taylorScores(m, windows: CalibrationWindows(ids: [w.ids[i]], masks: w.masks.map { [$0[i]] }), weight: .sum, block: .sum)
            for l in 0..<m.numLayers { perWindow[l] += one[l] }
        }
        // (1e-4: OpenBLAS results vary with the thread count, which parallel tests change.)
        expectNumbers(fresh, perWindow, "per-window sums", rel: 1e-4)
        #expect(zip(fresh, running).allSatisfy { abs($0 - $1) > 1e-3 * abs($1) }, "\(fresh) vs \(running)")
    }

    @Test func magnitudeNamesWithoutParity() throws {
        let run = ReferenceRun("magnitude_llama_mean")
        let (_, _, dir) = try runJob(run)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("magnitude_info.json").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("llama_magnitude_3/model.safetensors").path))
    }

    @Test func sleb() throws {
        let run = ReferenceRun("sleb_llama")
        let ref = try #require(try run.info())
        let (out, m, dir) = try runJob(run)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(out.info.keys == ref.keys + ["come"])
        for ph in ref.keys {
            let g = try #require(out.info[ph]), r = ref[ph]!
            #expect(g.keys == r.keys, "\(ph) keys")
            #expect(g["remove_order"] == r["remove_order"], "\(ph) remove order")
            for k in r.keys where Int(k) != nil {
                if r[k] == .null { #expect(g[k] == .null, "\(ph)[\(k)]"); continue }
                expectNumbers([g[k]!.number!], [r[k]!.number!], "\(ph) loss without layer \(k)")
            }
        }
        #expect(out.removed == [2, 5, 4])
        try checkFinalWeights(run, m)
    }

    /// The reference dies with IndexError at step 2 (Q5); come skips the missing window,
    /// says so, and completes. Step 0 equals the reference's (its importance and log).
    @Test func woRepeatBoundChecked() throws {
        let run = ReferenceRun("cm_llama_worepeat")
        #expect(try run.info() == nil)  // the reference wrote none
        let (out, m, dir) = try runJob(run)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(m.numLayers == 3)
        let steps = out.coMeSteps
        #expect(steps.count == 3)
        #expect(steps[0].plan.positions == [4, 5])
        // Step 2: the merged element is the last layer (position 4 of 5): window 4 does not
        // exist, window 3 is excluded, so the choice falls among windows 0–2.
        #expect(steps[1].droppedExclusions == [4])
        #expect(steps[1].skip[3] == .infinity)
        #expect(steps[1].plan.positions.last! <= 3)
        try checkImportance(run, steps)
        // Everything the reference did before crashing equals cm_llama_bi's first step.
        let bi = try #require(try ReferenceRun("cm_llama_bi").info())
        #expect(out.info["6_to_5"]?["merge_list"] == bi["6_to_5"]?["merge_list"])
        #expect(out.info["6_to_5"]?["merge_info"] == bi["6_to_5"]?["merge_info"])
        // Every layer merged at most into disjoint groups: wo-repeat never re-merges a group here.
        for node in m.mergeTree.current { if case .group(let c) = node { #expect(c.allSatisfy { if case .leaf = $0 { return true } else { return false } }) } }
    }
}
