// PruneJob's outputs (reference-algorithms.md §1.2 names and files, §4.8 info keys, §2.2
// perplexity records): the args file against the reference's, per-step and final-only
// perplexity, --continue-saving folders, and the refusals.
import Compression
import Foundation
import TestSupport
import Testing
import Transformer

@Suite("prune job outputs", .serialized)
struct PruneJobTests {
    /// The args file holds the reference's keys in its order (values differ only in paths), then come's.
    @Test(arguments: ["cm_llama_bi", "shortgpt_llama", "sleb_llama", "reverse_llama", "magnitude_llama"])
    func argsFile(_ name: String) throws {
        let run = ReferenceRun(name)
        let ref = try run.args()
        let (_, _, dir) = try runJob(run, parity: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix("_args.json") }!
        let got = try InfoJSON.parse(String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8))
        #expect(Array(got.keys.prefix(ref.keys.count)) == ref.keys)
        for k in ref.keys where !["model_name", "save_path"].contains(k) {
            #expect(got[k] == ref[k], "\(name) \(k): \(String(describing: got[k])) vs \(String(describing: ref[k]))")
        }
    }

    func tinyConfig(_ dir: URL) -> PruneConfig {
        var c = PruneConfig(method: .concatMerge, modelName: Fixtures.model("llama").path, targetLayers: 4, savePath: dir)
        c.calibrationStream = ReferenceRun("cm_llama_bi").url("calibration_stream.safetensors")
        c.seqlen = 32
        c.pplData = ["wiki2"]
        c.pplWindows = 4
        c.dataDir = Fixtures.shared.appendingPathComponent("data")
        return c
    }

    @Test func perplexityEveryStepByDefault() throws {
        let dir = try Fixtures.temporaryDirectory("come-ppl")
        defer { try? FileManager.default.removeItem(at: dir) }
        var m = try Model.load(Fixtures.model("llama").path)
        let out = try PruneJob(tinyConfig(dir)).run(&m)
        #expect(out.info["6_to_5"]?["wiki2_ppl"]?.number != nil)
        #expect(out.info["5_to_4"]?["wiki2_ppl"]?.number != nil)
        // The final top-level value is the last step's (evaluated once).
        #expect(out.info["wiki2_ppl"] == out.info["5_to_4"]?["wiki2_ppl"])
        #expect(out.perplexities.map(\.layers) == [5, 4])
        #expect(out.info.keys == ["6_to_5", "5_to_4", "wiki2_ppl", "merge_info", "come"])
        #expect(out.info["come"]?["calibration_amount"] == .string("pre-tokenised stream"))
        #expect(out.info["come"]?["calibration_windows"] == .int(8))
    }

    @Test func perplexityFinalOnlyUnderParity() throws {
        let dir = try Fixtures.temporaryDirectory("come-ppl")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = tinyConfig(dir)
        c.referenceParity = true
        var m = try Model.load(Fixtures.model("llama").path)
        let out = try PruneJob(c).run(&m)
        #expect(out.info["6_to_5"]?["wiki2_ppl"] == nil)
        #expect(out.info["wiki2_ppl"]?.number != nil)
        #expect(out.perplexities.map(\.layers) == [4])
    }

    @Test func continueSavingFolders() throws {
        let dir = try Fixtures.temporaryDirectory("come-cs")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = tinyConfig(dir)
        c.pplData = []
        c.continueSaving = true
        c.woRepeat = true
        var m = try Model.load(Fixtures.model("llama").path)
        _ = try PruneJob(c).run(&m)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(names.isSuperset(of: ["llama_concat_merge_bi_5_worepeat", "llama_concat_merge_bi_4_worepeat", "llama_concat_merge_bi_info.json",
                                      "concat_merge_args.json", "6_to_5-importance.safetensors", "5_to_4-importance.safetensors"]))
        let back = try Model.load(dir.appendingPathComponent("llama_concat_merge_bi_5_worepeat").path)
        #expect(back.numLayers == 5)
        #expect(back.mergeTree.history.count == 2)
    }

    @Test func refusals() throws {
        var m = try Model.load(Fixtures.model("llama").path)
        for method in [PruneMethod.mka, .laco, .concatMergeP] {
            let c = PruneConfig(method: method, modelName: "x", targetLayers: 3, savePath: nil)
            #expect(throws: PruneError.self) { _ = try PruneJob(c).run(&m) }
        }
        var c = PruneConfig(method: .shortgpt, modelName: "x", targetLayers: 6, savePath: nil)
        #expect(throws: PruneError.self) { _ = try PruneJob(c).run(&m) }
        c.targetLayers = 3
        c.calibrationStream = ReferenceRun("cm_llama_bi").url("calibration_stream.safetensors")
        c.seqlen = 512  // longer than the 266-token stream: an error, not a shorter window (Q6)
        #expect(throws: (any Error).self) { _ = try PruneJob(c).run(&m) }
        #expect(m.numLayers == 6)
    }
}
