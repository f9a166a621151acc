// The settings of one pruning run: the reference's `main.py` flags (reference-algorithms.md
// §1.1) with their per-method defaults, plus come's additions (window count, sequence
// length, data folder, reference parity). Shared by `come prune` and the REPL's `prune`.
import Foundation

public enum PruneMethod: String, Sendable, CaseIterable {
    case sleb, shortgpt, reverse, mka, taylor, magnitude
    case concatMerge = "concat_merge"
    case concatMergeP = "concat_merge_P"
    case laco

    /// Methods that later issues implement: the reason, for a clear refusal.
    public var notYetImplemented: String? {
        switch self {
        case .mka: return "--method mka is not yet implemented (a later issue; `--method concat_merge --skip-method mka` works)"
        case .concatMergeP: return "--method concat_merge_P is not yet implemented (a later issue)"
        case .laco: return "--method laco is not yet implemented (a later issue; the reference has no LaCo either)"
        default: return nil
        }
    }

    /// The reference's default calibration set and row count for the method.
    public var defaultCalibration: (dataset: String, nsamples: Int)? {
        switch self {
        case .sleb, .magnitude, .taylor: return ("wiki2", 128)
        case .shortgpt: return ("pg19", 256)
        case .mka: return ("mmlu", 250)
        case .concatMerge, .concatMergeP: return ("wiki2", 256)
        case .reverse, .laco: return nil
        }
    }
}

public struct PruneConfig: Sendable {
    // The reference's base flags.
    public var method: PruneMethod
    public var modelName: String
    public var targetLayers: Int
    public var savePath: URL?
    public var continueSaving = false
    public var pplData: [String] = []
    public var seed = 10
    // Method flags (nil = the method's default).
    public var calibrationDataset: String? = nil
    public var nsamples: Int? = nil
    public var skipMethod: SkipMethod = .bi
    public var mergeItem = 2
    public var woRepeat = false
    public var psu = 1
    public var minMax = 0.0
    public var weightReduction: Reduction = .sum
    public var blockReduction: Reduction = .sum
    public var heuristic = false
    public var retainLayer: [Int] = []
    // come's additions.
    /// N windows of S tokens instead of --nsamples rows.
    public var nwindows: Int? = nil
    /// S, the window length of calibration and perplexity (the reference hard-codes 2048).
    public var seqlen = 2048
    /// A pre-tokenised calibration stream (safetensors with input_ids [1,T] and optionally
    /// attention_mask [1,T], as the fixture runs store them), instead of a data set.
    public var calibrationStream: URL? = nil
    public var dataDir: URL? = nil
    /// --reference-parity: every reference behaviour of ReferenceBehaviour.reference(for:).
    public var referenceParity = false
    /// --tiled-gqa: only the reference's GQA query-head rule (Q2).
    public var tiledGQA = false
    /// Perplexity after every step. The reference evaluates only at the end (or after every
    /// step with --continue-saving); --reference-parity and --ppl-final-only restore that.
    public var pplEveryStep = true
    /// Evaluate at most this many perplexity windows per data set.
    public var pplWindows: Int? = nil
    public var pplBatch = 1
    /// Write the pruned model(s). Off only for dry runs in tests.
    public var saveModels = true

    public init(method: PruneMethod, modelName: String, targetLayers: Int, savePath: URL?) {
        self.method = method; self.modelName = modelName; self.targetLayers = targetLayers; self.savePath = savePath
    }

    public var resolvedDataset: String { calibrationDataset ?? method.defaultCalibration?.dataset ?? "wiki2" }
    public var resolvedNSamples: Int { nsamples ?? method.defaultCalibration?.nsamples ?? 128 }

    /// The reference's method name in file names: `magnitude+` with --heuristic (always under parity, Q14).
    public func methodFileName(plusAlways: Bool) -> String {
        if method == .magnitude || method == .taylor { return method.rawValue + ((heuristic || plusAlways) ? "+" : "") }
        return method.rawValue
    }

    /// basename(model_name) + "_" + method (§1.2), trailing slashes stripped.
    public func saveName(plusAlways: Bool) -> String {
        var n = modelName
        while n.hasSuffix("/") || n.hasSuffix("\\") { n.removeLast() }
        return (n as NSString).lastPathComponent + "_" + methodFileName(plusAlways: plusAlways)
    }

    /// `{method}_args.json`: the reference's keys in its order, then come's own.
    public func argsJSON(plusAlways: Bool) -> InfoJSON {
        var o: [(String, InfoJSON)] = [
            ("method", .string(methodFileName(plusAlways: plusAlways))),
            ("model_name", .string(modelName)),
            ("target_layers", .int(targetLayers)),
            ("save_path", savePath.map { .string($0.path) } ?? .null),
            ("continue_saving", .bool(continueSaving)),
            ("ppl_data", .array(pplData.map { .string($0) })),
            ("seed", .int(seed)),
        ]
        let cal: [(String, InfoJSON)] = [("calibration_dataset", .string(resolvedDataset)), ("nsamples", .int(resolvedNSamples))]
        switch method {
        case .sleb, .shortgpt: o += cal
        case .magnitude, .taylor:
            o += cal + [("weight_reduction", .string(weightReduction.rawValue)), ("block_reduction", .string(blockReduction.rawValue)),
                        ("heuristic", .bool(heuristic))]
        case .mka: o += cal
        case .reverse: o += [("retain_layer", .ints(retainLayer))]
        case .concatMerge:
            o += [("calibration_dataset", .string(resolvedDataset)), ("skip_method", .string(skipMethod.rawValue)),
                  ("nsamples", .int(resolvedNSamples)), ("merge_item", .int(mergeItem)), ("wo_repeat", .bool(woRepeat)),
                  ("psu", .int(psu)), ("min_max", .double(minMax))]
        case .concatMergeP, .laco: break
        }
        o.append(("save_name", .string(saveName(plusAlways: plusAlways))))
        o += [("nwindows", nwindows.map { .int($0) } ?? .null), ("seqlen", .int(seqlen)),
              ("calibration_stream", calibrationStream.map { .string($0.path) } ?? .null),
              ("data_dir", dataDir.map { .string($0.path) } ?? .null), ("reference_parity", .bool(referenceParity)),
              ("tiled_gqa", .bool(tiledGQA)), ("ppl_every_step", .bool(pplEveryStep)),
              ("ppl_windows", pplWindows.map { .int($0) } ?? .null)]
        return .object(o)
    }
}
