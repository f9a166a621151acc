// Access to the golden runs of the Python reference in ../shared/fixtures/reference (its
// README): the stored info/args JSON, calibration streams, per-step channel scores and the
// pruned weights, plus the comparison helpers the parity tests share.
import Checkpoints
import Compression
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

struct ReferenceRun {
    let name: String
    let folder: URL

    init(_ name: String) {
        self.name = name
        folder = Fixtures.fixtures.appendingPathComponent("reference/\(name)")
    }

    func url(_ f: String) -> URL { folder.appendingPathComponent(f) }

    func json(_ f: String) throws -> InfoJSON { try InfoJSON.parse(String(contentsOf: url(f), encoding: .utf8)) }

    /// The info file (the one `*_info*.json`), nil for crashed runs.
    func info() throws -> InfoJSON? {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        guard let n = names.first(where: { $0.contains("_info") && $0.hasSuffix(".json") }) else { return nil }
        return try json(n)
    }

    func args() throws -> InfoJSON {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return try json(names.first { $0.hasSuffix("_args.json") }!)
    }

    var run: InfoJSON { get throws { try json("run.json") } }
    var seqlen: Int { get throws { try run["seqlen"]?.int ?? 2048 } }

    /// The model the run pruned: a fixture checkpoint, or the default SmolLM2 GGUF (whose
    /// dequantised weights are the HF folder the reference used, fixtures README §4).
    func model() throws -> Model {
        let path = try args()["model_name"].flatMap { if case .string(let s) = $0 { return s } else { return nil } } ?? ""
        let base = (path as NSString).lastPathComponent
        if base.hasPrefix("smollm2") {
            guard let d = Fixtures.defaultModel else { throw PruneError("the default model is not in place (scripts/setup)") }
            return try Model.load(d.path)
        }
        return try Model.load(Fixtures.model(base).path)
    }

    /// A PruneConfig with the run's flags, fed the run's stored calibration stream.
    func config(save: URL?) throws -> PruneConfig {
        let a = try args()
        func s(_ k: String) -> String? { if case .string(let v)? = a[k] { return v } else { return nil } }
        func i(_ k: String) -> Int? { a[k]?.int }
        func b(_ k: String) -> Bool { if case .bool(let v)? = a[k] { return v } else { return false } }
        var method = s("method")!
        if method.hasSuffix("+") { method.removeLast() }
        var c = PruneConfig(method: PruneMethod(rawValue: method)!, modelName: s("model_name")!, targetLayers: i("target_layers")!, savePath: save)
        c.seed = i("seed") ?? 10
        c.calibrationDataset = s("calibration_dataset")
        c.nsamples = i("nsamples")
        if let sk = s("skip_method") { c.skipMethod = SkipMethod(rawValue: sk)! }
        c.mergeItem = i("merge_item") ?? 2
        c.woRepeat = b("wo_repeat")
        c.psu = i("psu") ?? 1
        c.minMax = a["min_max"]?.number ?? 0
        if let w = s("weight_reduction") { c.weightReduction = Reduction(rawValue: w)! }
        if let w = s("block_reduction") { c.blockReduction = Reduction(rawValue: w)! }
        c.heuristic = b("heuristic")
        c.retainLayer = a["retain_layer"]?.ints ?? []
        c.seqlen = try seqlen
        if FileManager.default.fileExists(atPath: url("calibration_stream.safetensors").path) {
            c.calibrationStream = url("calibration_stream.safetensors")
        }
        return c
    }
}

/// |got − want| ≤ rel·|want| + abs for every entry (+inf must match +inf).
func expectNumbers(_ got: [Double], _ want: [Double], _ what: String, rel: Double = 1e-4, abs: Double = 0,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): \(got.count) values, reference \(want.count)", sourceLocation: sourceLocation)
    guard got.count == want.count else { return }
    for (k, (g, w)) in zip(got, want).enumerated() {
        if w.isInfinite || g.isInfinite {
            #expect(g == w, "\(what)[\(k)]: \(g) vs reference \(w)", sourceLocation: sourceLocation)
            continue
        }
        #expect(Swift.abs(g - w) <= rel * Swift.abs(w) + abs, "\(what)[\(k)]: \(g) vs reference \(w)", sourceLocation: sourceLocation)
    }
}

func expectClose(_ got: [Float], _ want: [Float], _ what: String, tol: Float, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): \(got.count) vs \(want.count) values", sourceLocation: sourceLocation)
    guard got.count == want.count else { return }
    let d = maxAbsDiff(got, want)
    #expect(d <= tol, "\(what): max abs diff \(d) > \(tol)", sourceLocation: sourceLocation)
}

/// Runs a reference run's configuration through PruneJob on its stored stream.
func runJob(_ run: ReferenceRun, parity: Bool = false, tiled: Bool = false) throws -> (outcome: PruneOutcome, model: Model, dir: URL) {
    let dir = try Fixtures.temporaryDirectory("come-prune")
    var c = try run.config(save: dir)
    c.referenceParity = parity
    c.tiledGQA = tiled
    var m = try run.model()
    let outcome = try PruneJob(c).run(&m)
    return (outcome, m, dir)
}
