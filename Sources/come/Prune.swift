// `come prune`: the reference's main.py flags, flag for flag (reference-algorithms.md §1.1),
// plus come's own (--nwindows, --seqlen, --calibration-stream, --data-dir, --reference-parity,
// --tiled-gqa, --ppl-final-only, --ppl-windows). Drives Compression.PruneJob.
import ArgumentParser
import Compression
import Foundation
import Transformer

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove or merge layers with CoMe (concat_merge) or a baseline (sleb, shortgpt, reverse, magnitude), as the reference's main.py does.",
        discussion: """
            Writes {method}_args.json, the info JSON with the reference's keys, per-step importance files (concat_merge) and the \
            pruned model as an HF folder under --save-path. Without --save-path nothing is written and a summary is printed.
            Calibration: --nsamples counts dataset rows as the reference does; --nwindows N takes N windows of --seqlen tokens.
            """)

    @OptionGroup var global: GlobalOptions

    // The reference's base flags.
    @Option(help: "sleb, shortgpt, reverse, magnitude, taylor, concat_merge (mka, laco, concat_merge_P: later issues).") var method: String
    @Option(name: .customLong("model-name"), help: "An HF folder, a .gguf file, or `default`.") var modelName: String
    @Option(name: .customLong("target-layers"), help: "The number of layers to keep.") var targetLayers: Int
    @Option(name: .customLong("save-path"), help: "Output folder (created if missing).") var savePath: String?
    @Flag(name: .customLong("continue-saving"), help: "Save (and evaluate) after every step, not only at the end.") var continueSaving = false
    @Option(name: .customLong("ppl-data"), parsing: .upToNextOption, help: "Perplexity data sets after pruning: wiki2, c4 (or a text/.raw/.jsonl file).") var pplData: [String] = []
    @Option(help: "Seed of the calibration row shuffle.") var seed = 10

    // Method flags (defaults per method as the reference's).
    @Option(name: .customLong("calibration-dataset"), help: "c4, wiki2, pg19, bookcorpus, alpaca, mmlu (default per method).") var calibrationDataset: String?
    @Option(help: "Calibration rows (lines, documents, examples), as the reference counts them (default per method).") var nsamples: Int?
    @Option(name: .customLong("skip-method"), help: "concat_merge: bi, sleb or mka.") var skipMethod = "bi"
    @Option(name: .customLong("merge-item"), help: "concat_merge: layers merged per step.") var mergeItem = 2
    @Flag(name: .customLong("wo-repeat"), help: "concat_merge: never merge a window touching an already merged layer.") var woRepeat = false
    @Option(help: "concat_merge: the exponent of the merge ratio.") var psu = 1
    @Option(name: .customLong("min-max"), help: "concat_merge: floor of the largest merge ratio.") var minMax = 0.0
    @Option(name: .customLong("weight-reduction"), help: "magnitude: sum, mean, max or prob (product).") var weightReduction = "sum"
    @Option(name: .customLong("block-reduction"), help: "magnitude: sum, mean, max or prob (product).") var blockReduction = "sum"
    @Flag(help: "magnitude+/taylor+: keep the first four and last two layers to the end.") var heuristic = false
    @Option(name: .customLong("retain-layer"), parsing: .upToNextOption, help: "reverse: layer indices to remove last.") var retainLayer: [Int] = []
    @Option(name: .customLong("num-tasks"), help: "mka: MMLU subjects (accepted for the reference's flag set).") var numTasks: Int?
    @Option(help: "concat_merge_P: ratio search granularity (accepted for the reference's flag set).") var granularity: Int?

    // come's additions.
    @Option(help: "Calibrate on N windows of --seqlen tokens (instead of --nsamples rows).") var nwindows: Int?
    @Option(help: "Window length of calibration and perplexity (the reference hard-codes 2048).") var seqlen = 2048
    @Option(name: .customLong("calibration-stream"), help: "A pre-tokenised stream (safetensors with input_ids [1,T], attention_mask [1,T]).") var calibrationStream: String?
    @Option(name: .customLong("data-dir"), help: "Folder with wikitext-2-raw-v1/, c4/, mmlu/, alpaca/ … (default ../shared/data).") var dataDir: String?
    @Flag(name: .customLong("reference-parity"), help: "Reproduce every wrong behaviour of the reference (tiled GQA heads, half-precision scores, bare Infinity, `+` file names, Taylor gradients never zeroed between windows).") var referenceParity = false
    @Flag(name: .customLong("tiled-gqa"), help: "Only the reference's tiled query-head rule (quirk Q2).") var tiledGQA = false
    @Flag(name: .customLong("ppl-final-only"), help: "Evaluate --ppl-data only at the end, as the reference does without --continue-saving (default: after every step).") var pplFinalOnly = false
    @Option(name: .customLong("ppl-windows"), help: "Evaluate at most this many perplexity windows.") var pplWindows: Int?

    func run() throws {
        global.apply()
        if method.hasSuffix("+") {
            fail(PruneError("Unknown method: \(method) (use --method \(method.dropLast()) --heuristic; the `+` is added to file names)"))
        }
        guard let m = PruneMethod(rawValue: method) else {
            fail(PruneError("Unknown method: \(method) (one of sleb, mka, shortgpt, reverse, magnitude, taylor, concat_merge, concat_merge_P)"))
        }
        if let why = m.notYetImplemented { fail(PruneError(why)) }
        guard let skip = SkipMethod(rawValue: skipMethod) else { fail(PruneError("--skip-method must be bi, sleb or mka")) }
        guard let wr = Reduction(rawValue: weightReduction), let br = Reduction(rawValue: blockReduction) else {
            fail(PruneError("--weight-reduction / --block-reduction must be sum, mean, max or prob"))
        }
        var c = PruneConfig(method: m, modelName: modelName, targetLayers: targetLayers, savePath: savePath.map { URL(fileURLWithPath: $0) })
        c.continueSaving = continueSaving
        c.pplData = pplData
        c.seed = seed
        c.calibrationDataset = calibrationDataset
        c.nsamples = nsamples
        c.skipMethod = skip
        c.mergeItem = mergeItem
        c.woRepeat = woRepeat
        c.psu = psu
        c.minMax = minMax
        c.weightReduction = wr
        c.blockReduction = br
        c.heuristic = heuristic
        c.retainLayer = retainLayer
        c.nwindows = nwindows
        c.seqlen = seqlen
        c.calibrationStream = calibrationStream.map { URL(fileURLWithPath: $0) }
        c.dataDir = dataDir.map { URL(fileURLWithPath: $0) }
        c.referenceParity = referenceParity
        c.tiledGQA = tiledGQA
        c.pplEveryStep = !pplFinalOnly
        c.pplWindows = pplWindows

        let t0 = Date()
        var model = loadModel(modelName)
        let loadSeconds = Date().timeIntervalSince(t0)
        if savePath == nil { FileHandle.standardError.write(Data("note: no --save-path: nothing is written\n".utf8)) }
        var bars: [String: ProgressReporter] = [:]
        let job = PruneJob(c, log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }, progress: { label, done, total in
            let bar = bars[label] ?? ProgressReporter(label, unit: label.contains("ppl") ? "windows" : (label.hasSuffix("skip") || label.hasSuffix("sleb") ? "trials" : "windows"))
            bars[label] = bar
            bar.update(done, total)
        })
        let start = model.numLayers
        let out: PruneOutcome
        do { out = try job.run(&model) } catch { fail(error) }
        print("\(m.rawValue): \(start) → \(model.numLayers) layers")
        for s in out.coMeSteps {
            print("  \(s.phase): merged \(s.plan.positions) ratios \(s.plan.ratios.map { String(format: "%.4f", $0) }.joined(separator: "/")) → \(s.layout.map(\.description).joined(separator: ", "))")
        }
        if !out.removed.isEmpty { print("  removed (original indices, in order): \(out.removed)") }
        for p in out.perplexities { print(String(format: "  %@ perplexity at %d layers: %.4f", p.data, p.layers, p.ppl)) }
        let t = out.timings
        print(String(format: "time: load %.1fs, calibration %.1fs, scoring %.1fs, merging %.2fs, evaluation %.1fs, saving %.1fs, total %.1fs",
                     loadSeconds, t.calibration, t.scoring, t.merging, t.evaluation, t.saving, t.total + loadSeconds))
        if let u = out.infoURL { print("info: \(u.path)") }
        for u in out.savedModels { print("model: \(u.path)") }
    }
}
