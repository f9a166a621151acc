// CoMe and its baselines as builtins: calibration, score, merge, remove, prune and
// merge_tree, with displays (per-layer scores as terminal bars; `plot` of any score list
// gives the SVG figure in a notebook).
import Compression
import Corpora
import Foundation
import Script
import Tensors
import Transformer

/// Calibration windows drawn from a data set (§2.1) under one tokenizer.
public final class CalibrationObject: HostObject {
    public let windows: CalibrationWindows
    public let source: String
    private var cached: String?
    init(_ w: CalibrationWindows, source: String) { windows = w; self.source = source }
    public var typeName: String { "calibration" }
    public var summary: String { "<calibration \(windows.count) windows × \(windows.seqlen) tokens>" }
    public var fieldNames: [String] { ["windows", "seqlen", "source"] }
    public func field(_ n: String) -> Value? {
        switch n {
        case "windows": return .int(windows.count)
        case "seqlen": return .int(windows.seqlen)
        case "source": return .string(source)
        default: return nil
        }
    }
    public var fingerprint: String? {
        if let c = cached { return c }
        cached = Fingerprint.tokens(windows.ids)
        return cached
    }
    public func render(_ o: DisplayOptions) -> String { summary + "\n  from " + source }
}

/// Layer scores of one model state: block influence, angular skip, channel sensitivity.
public final class ScoresObject: HostObject {
    public let scores: LayerScores
    init(_ s: LayerScores) { scores = s }
    public var typeName: String { "scores" }
    public var summary: String { "<scores of \(scores.blockInfluence.count) layers over \(scores.windows) windows>" }
    public var fieldNames: [String] { ["bi", "skip", "neurons", "heads", "windows", "most_redundant_pair"] }
    public func field(_ n: String) -> Value? {
        switch n {
        case "bi": return .list(scores.blockInfluence.map(Value.float))
        case "skip": return .list(scores.angularSkip.map(Value.float))
        case "neurons": return .list(scores.neuron.map { .list($0.map { .float(Double($0)) }) })
        case "heads": return .list(scores.headGroup.map { .list($0.map { .float(Double($0)) }) })
        case "windows": return .int(scores.windows)
        case "most_redundant_pair":
            let i = Budget.firstArgmin(scores.angularSkip)
            return .list([.int(i), .int(i + 1)])
        default: return nil
        }
    }
    public func render(_ o: DisplayOptions) -> String {
        let bi = scores.blockInfluence, sk = scores.angularSkip
        return "block influence (1 − cos of each layer's input and output; low = redundant)\n"
            + BarChart.render(values: bi, labels: bi.indices.map { "layer \($0)" }, width: o.barWidth, unicode: o.terminal)
            + "\nangular skip score of layers i, i+1 (low = the pair is redundant)\n"
            + BarChart.render(values: sk, labels: sk.indices.map { "\($0)-\($0 + 1)" }, width: o.barWidth, unicode: o.terminal)
    }
}

private func cfail(_ m: String, _ arg: String? = nil) -> ScriptError { ScriptError(m, id: "E0602", argument: arg) }

private func ints(_ a: BoundArguments, _ name: String) throws -> [Int] {
    try a.list(name).map { v -> Int in if case .int(let i) = v { return i }; throw cfail("`\(name)` must be a list of integers", name) }
}

public func compressionBuiltins() -> [BuiltinSpec] {
    let modelType = ValueType.host("model")
    let modelCompleter = Completer.variables(ofType: "model")
    return [
        BuiltinSpec("calibration", [ParamSpec("m", modelType, completer: modelCompleter),
                                    ParamSpec("data", .string, default: .string("wiki2"),
                                              completer: .choices(CalibrationDataset.allCases.map(\.rawValue))),
                                    ParamSpec("nwindows", .optional(.int), default: .int(8), help: "N windows of seqlen tokens"),
                                    ParamSpec("seqlen", .int, default: .int(256)),
                                    ParamSpec("nsamples", .optional(.int), default: .none, help: "rows, as the reference's --nsamples (overrides nwindows)"),
                                    ParamSpec("seed", .int, default: .int(10)),
                                    ParamSpec("data_dir", .optional(.string), default: .none)],
                    returns: .host("calibration"), effects: [.readsFiles], category: "compression",
                    help: "Calibration windows as the reference builds them (§2.1): rows shuffled with numpy's\ndefault_rng(seed).permutation, joined, tokenised once, cut into windows.") { a, ctx in
            let m = try modelArg(a)
            let tok = try tokenizerOf(m)
            let seqlen = try a.int("seqlen")
            let amount: CalibrationAmount
            if let n = try a.optionalInt("nsamples") { amount = .rows(n) } else if let w = try a.optionalInt("nwindows") { amount = .windows(w) }
            else { throw cfail("give nwindows or nsamples", "nwindows") }
            let obj: CalibrationObject = try engine("data") {
                let ds = try CalibrationDataset.named(try a.string("data"))
                let stream = try Calibration.stream(CalibrationRequest(dataset: ds, amount: amount, seed: UInt64(try a.int("seed")), seqlen: seqlen,
                                                                       dataDir: try a.optionalString("data_dir").map { URL(fileURLWithPath: ctx.resolvePath($0)) }),
                                                    tokenizer: tok)
                for n in stream.notes { ctx.print("note: " + n) }
                var limit: Int? = nil
                if case .windows(let w) = amount { limit = w }
                let w = try stream.windows(seqlen: seqlen, limit: limit)
                return CalibrationObject(CalibrationWindows(ids: w.ids, masks: w.masks), source: stream.description)
            }
            ctx.recordWritten(obj)
            ctx.recordResult("windows", .int(obj.windows.count))
            return .host(obj)
        },
        BuiltinSpec("score", [ParamSpec("m", modelType, completer: modelCompleter),
                              ParamSpec("calib", .host("calibration"), completer: .variables(ofType: "calibration")),
                              ParamSpec("batch", .int, default: .int(2))],
                    returns: .host("scores"), category: "compression",
                    help: "One pass over the calibration windows: block influence per layer, the angular skip score\nof each adjacent pair, and channel sensitivity (|activation| × column L1 norm) of MLP\nchannels and KV head groups (§3.2, §3.4).") { a, ctx in
            let m = try modelArg(a)
            let c = try a.host("calib", as: CalibrationObject.self)
            ctx.recordRead(m); ctx.recordRead(c)
            var o = ScoreOptions()
            o.batch = try a.int("batch")
            let s = try engine { try Scoring.score(m.model, windows: c.windows, options: o) }
            try ctx.checkCancelled()
            ctx.recordResult("bi", .list(s.blockInfluence.map(Value.float)))
            ctx.recordResult("skip", .list(s.angularSkip.map(Value.float)))
            return .host(ScoresObject(s))
        },
        BuiltinSpec("merge", [ParamSpec("m", modelType, completer: modelCompleter),
                              ParamSpec("layers", .listOf(.int), help: "adjacent current positions, e.g. [3, 4]"),
                              ParamSpec("scores", .host("scores"), completer: .variables(ofType: "scores"),
                                        help: "scores of this model (score(m, calib))"),
                              ParamSpec("psu", .number, default: .int(1), help: "the block_ratio exponent"),
                              ParamSpec("min_max", .number, default: .int(0), help: "ratio floor μ₀"),
                              ParamSpec("tiled_gqa", .bool, default: .bool(false), help: "the reference's GQA query-head rule (Q2)")],
                    returns: modelType, effects: [.changesModel], category: "compression",
                    help: "Concatenation merge (§3.5–3.7): ratios from block influence, the most sensitive KV groups\nand MLP channels of each layer kept, concatenated into one layer. Returns a new model;\nthe plan (ratios, budgets, kept channels) is printed.") { a, ctx in
            let m = try modelArg(a)
            let s = try a.host("scores", as: ScoresObject.self)
            let ps = try ints(a, "layers").sorted()
            guard ps.count >= 2 else { throw cfail("merge needs at least two adjacent layers", "layers") }
            guard s.scores.blockInfluence.count == m.model.numLayers else {
                throw cfail("these scores describe \(s.scores.blockInfluence.count) layers; the model has \(m.model.numLayers): score it again", "scores")
            }
            var model = m.model
            let leaves = ps.reduce(0) { $0 + (($1 < model.mergeTree.current.count) ? model.mergeTree.current[$1].leaves.count : 1) }
            let mu0 = try a.double("min_max")
            let mu = mu0 == 0 ? 0 : pow(mu0, 1 / Double(max(1, leaves - 1)))
            let plan: MergePlan = try engine("layers") {
                guard ps.last! < model.numLayers else { throw cfail("layer \(ps.last!) does not exist (0..\(model.numLayers - 1))", "layers") }
                let ratios = Budget.blockRatio(ps.map { s.scores.blockInfluence[$0] }, power: try a.double("psu"), floor: mu)
                let plan = try ConcatMerge.plan(model, positions: ps, ratios: ratios, scores: s.scores, tiledQueryHeads: try a.bool("tiled_gqa"))
                try ConcatMerge.apply(&model, plan: plan)
                return plan
            }
            ctx.print("merged layers \(ps) → one layer at \(ps[0]); ratios \(plan.ratios.map { String(format: "%.3f", $0) }); "
                      + "KV groups per layer \(plan.headBudget), MLP channels per layer \(plan.neuronBudget)")
            let out = ModelObject(model)
            ctx.recordRead(m); ctx.recordRead(s.scores.blockInfluence.description)
            ctx.recordWritten(out)
            ctx.recordResult("ratios", .list(plan.ratios.map(Value.float)))
            ctx.recordResult("head_budget", .list(plan.headBudget.map(Value.int)))
            ctx.recordResult("neuron_budget", .list(plan.neuronBudget.map(Value.int)))
            return .host(out)
        },
        BuiltinSpec("remove", [ParamSpec("m", modelType, completer: modelCompleter), ParamSpec("layers", .listOf(.int))],
                    returns: modelType, effects: [.changesModel], category: "compression",
                    help: "Removes the layers at these current positions; returns a new model (the merge tree records it).") { a, ctx in
            let m = try modelArg(a)
            var model = m.model
            try engine("layers") { try model.removeLayers(try ints(a, "layers")) }
            let out = ModelObject(model)
            ctx.recordRead(m); ctx.recordWritten(out)
            return .host(out)
        },
        BuiltinSpec("prune", [ParamSpec("m", modelType, completer: modelCompleter),
                              ParamSpec("method", .string, default: .string("concat_merge"),
                                        completer: .choices(PruneMethod.allCases.map(\.rawValue))),
                              ParamSpec("target_layers", .int),
                              ParamSpec("nwindows", .int, default: .int(8)), ParamSpec("seqlen", .int, default: .int(256)),
                              ParamSpec("data", .string, default: .string("wiki2")),
                              ParamSpec("seed", .int, default: .int(10)),
                              ParamSpec("skip_method", .string, default: .string("bi"), completer: .choices(SkipMethod.allCases.map(\.rawValue))),
                              ParamSpec("merge_item", .int, default: .int(2)),
                              ParamSpec("ppl_data", .listOf(.string), default: .list([]), help: "e.g. [\"wiki2\"]: perplexity after every step"),
                              ParamSpec("ppl_windows", .optional(.int), default: .int(16)),
                              ParamSpec("reference_parity", .bool, default: .bool(false))],
                    returns: .record, effects: [.changesModel], category: "compression",
                    help: "Prunes a copy of the model to target_layers with a method of `come prune` (concat_merge,\nsleb, shortgpt, reverse, magnitude, ...). Returns {model, perplexities, removed, seconds}.") { a, ctx in
            let m = try modelArg(a)
            guard let method = PruneMethod(rawValue: try a.string("method")) else {
                throw cfail("unknown method `\(try a.string("method"))`; methods: \(PruneMethod.allCases.map(\.rawValue).joined(separator: ", "))", "method")
            }
            var c = PruneConfig(method: method, modelName: m.model.source, targetLayers: try a.int("target_layers"), savePath: nil)
            c.nwindows = try a.int("nwindows"); c.seqlen = try a.int("seqlen"); c.calibrationDataset = try a.string("data")
            c.seed = try a.int("seed"); c.mergeItem = try a.int("merge_item"); c.referenceParity = try a.bool("reference_parity")
            guard let sm = SkipMethod(rawValue: try a.string("skip_method")) else { throw cfail("skip_method must be bi, sleb or mka", "skip_method") }
            c.skipMethod = sm
            c.pplData = try a.list("ppl_data").map { v -> String in if case .string(let s) = v { return s }; throw cfail("ppl_data holds names", "ppl_data") }
            c.pplWindows = try a.optionalInt("ppl_windows")
            c.saveModels = false
            var model = m.model
            let job = PruneJob(c, log: { ctx.print($0) }, progress: { what, done, total in
                ctx.progress(total > 0 ? Double(done) / Double(total) : nil, "\(what) \(done)/\(total)")
            })
            let r = try engine { try job.run(&model) }
            let out = ModelObject(model)
            ctx.recordRead(m); ctx.recordWritten(out)
            let ppl: [Value] = r.perplexities.map { .record(Record([("layers", .int($0.layers)), ("data", .string($0.data)), ("ppl", .float($0.ppl))])) }
            ctx.recordResult("perplexities", .list(r.perplexities.map { .float($0.ppl) }))
            return .record(Record([("model", .host(out)), ("perplexities", .list(ppl)),
                                   ("removed", .list(r.removed.map(Value.int))), ("seconds", .float(r.timings.total))]))
        },
        BuiltinSpec("merge_tree", [ParamSpec("m", modelType, completer: modelCompleter)], returns: .string, category: "compression", logged: false,
                    help: "The model's layers as nested brackets of original layer indices ([2, 3] = one merged layer).") { a, _ in
            let m = try modelArg(a)
            return .string("[" + m.model.mergeTree.current.map(\.description).joined(separator: ", ") + "]")
        },
    ]
}
