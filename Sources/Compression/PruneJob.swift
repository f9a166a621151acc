// One pruning run end to end, as the reference's main.py runs a method (reference-algorithms
// §1.2 names and files, §2.2 perplexity, §4.1–4.5 and §4.8 the methods): calibration, the
// method loop, the args/info JSON with the reference's keys, per-step importance files, the
// pruned HF checkpoint(s) and perplexity. The CLI and the REPL both drive this.
import Checkpoints
import Corpora
import Evaluation
import Foundation
import Tensors
import Transformer

public struct PruneError: Error, CustomStringConvertible {
    public let message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

/// Seconds spent per phase of a run.
public struct PruneTimings: Sendable {
    public var calibration = 0.0, scoring = 0.0, merging = 0.0, evaluation = 0.0, saving = 0.0, total = 0.0
}

public struct PruneOutcome: Sendable {
    public var info: InfoJSON
    public var infoURL: URL?
    public var savedModels: [URL]
    /// (layers after the step, data set, perplexity), in evaluation order.
    public var perplexities: [(layers: Int, data: String, ppl: Double)]
    public var timings: PruneTimings
    public var coMeSteps: [CoMeStep]
    /// Original indices removed, in order (removal methods).
    public var removed: [Int]
}

public final class PruneJob {
    public let config: PruneConfig
    let log: (String) -> Void
    let progress: ((String, Int, Int) -> Void)?
    var timings = PruneTimings()
    var pplCache: [String: [[Int]]] = [:]
    var perplexities: [(layers: Int, data: String, ppl: Double)] = []
    var saved: [URL] = []
    var calibrationDescription: String? = nil
    var calibrationWindows: Int? = nil
    /// The last evaluation, reused when the model has not changed since (same layer count).
    var lastEvaluation: (layers: Int, entries: [(String, InfoJSON)])? = nil

    var perStepPPL: Bool { config.pplEveryStep && !config.referenceParity && !config.pplData.isEmpty }

    public init(_ config: PruneConfig, log: @escaping (String) -> Void = { _ in }, progress: ((String, Int, Int) -> Void)? = nil) {
        self.config = config; self.log = log; self.progress = progress
    }

    /// The behaviours in force for this model.
    public func behaviour(for model: Model) -> ReferenceBehaviour {
        var b = config.referenceParity ? ReferenceBehaviour.reference(for: model) : .correct
        if config.tiledGQA { b.tiledQueryHeads = true }
        return b
    }

    /// Prunes `model` in place and writes the outputs.
    public func run(_ model: inout Model) throws -> PruneOutcome {
        let t0 = Date()
        let c = config
        if let why = c.method.notYetImplemented { throw PruneError(why) }
        guard c.targetLayers >= 1, c.targetLayers < model.numLayers else {
            throw PruneError("--target-layers \(c.targetLayers) must be between 1 and \(model.numLayers - 1) (the model has \(model.numLayers) layers)")
        }
        let b = behaviour(for: model)
        if let dir = c.savePath {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let name = c.methodFileName(plusAlways: b.plusSuffix)
            try write(c.argsJSON(plusAlways: b.plusSuffix), to: dir.appendingPathComponent("\(name)_args.json"), bare: b.bareInfinity)
        }
        let windows: CalibrationWindows? = c.method == .reverse ? nil : try calibration(model)
        var outcome: PruneOutcome
        switch c.method {
        case .concatMerge: outcome = try runCoMe(&model, windows!, b)
        case .sleb: outcome = try runSLEB(&model, windows!, b)
        case .shortgpt, .reverse, .magnitude, .taylor: outcome = try runOneShot(&model, windows, b)
        default: throw PruneError(c.method.notYetImplemented ?? "unknown method")
        }
        timings.total = Date().timeIntervalSince(t0)
        outcome.timings = timings
        outcome.perplexities = perplexities
        outcome.savedModels = saved
        return outcome
    }

    // MARK: calibration

    /// come's trailing info record: how the calibration was chosen and which behaviours ran.
    func comeRecord(_ b: ReferenceBehaviour, extra: [(String, InfoJSON)] = []) -> InfoJSON {
        let c = config
        let amount: InfoJSON = c.calibrationStream != nil ? .string("pre-tokenised stream")
            : (c.nwindows.map { .string("--nwindows \($0)") } ?? .string("--nsamples \(c.resolvedNSamples) rows"))
        return .object([("calibration", calibrationDescription.map { .string($0) } ?? .null), ("calibration_amount", amount),
                        ("calibration_windows", calibrationWindows.map { .int($0) } ?? .null), ("seqlen", .int(c.seqlen)),
                        ("reference_parity", .bool(c.referenceParity)), ("tiled_gqa", .bool(b.tiledQueryHeads)),
                        ("score_rounding", .string(b.scoreRounding.rawValue))] + extra)
    }

    func calibration(_ model: Model) throws -> CalibrationWindows {
        let t0 = Date()
        defer { timings.calibration += Date().timeIntervalSince(t0) }
        let c = config
        guard c.seed >= 0 else { throw PruneError("--seed must be non-negative (numpy's default_rng refuses negative seeds)") }
        var stream: CalibrationStream
        if let u = c.calibrationStream {
            stream = try PruneJob.loadStream(u)
        } else {
            guard let tok = model.tokenizer else { throw PruneError("\(model.source) has no tokenizer; pass a pre-tokenised --calibration-stream") }
            let ds = try CalibrationDataset.named(c.resolvedDataset)
            let amount: CalibrationAmount = c.nwindows.map { .windows($0) } ?? .rows(c.resolvedNSamples)
            stream = try Calibration.stream(CalibrationRequest(dataset: ds, amount: amount, seed: UInt64(c.seed), seqlen: c.seqlen,
                                                               dataDir: c.dataDir), tokenizer: tok)
        }
        for n in stream.notes { log("note: " + n) }
        let w = try stream.windows(seqlen: c.seqlen, limit: c.nwindows)
        if let n = c.nwindows, w.ids.count < n {
            throw PruneError("the calibration stream gives \(w.ids.count) windows of \(c.seqlen) tokens, fewer than --nwindows \(n)")
        }
        let how = c.nwindows != nil ? "--nwindows \(c.nwindows!) × --seqlen \(c.seqlen)" : (c.calibrationStream != nil ? "pre-tokenised stream" : "--nsamples \(c.resolvedNSamples) rows")
        log("calibration: \(stream.description); \(stream.count) tokens → \(w.ids.count) windows of \(c.seqlen) (\(how))\(stream.padCount > 0 ? ", \(stream.padCount) pad tokens" : "")")
        calibrationDescription = stream.description
        calibrationWindows = w.ids.count
        return CalibrationWindows(ids: w.ids, masks: w.masks)
    }

    /// A stream file as the fixture runs store it: input_ids [1, T] I64, attention_mask [1, T].
    public static func loadStream(_ u: URL) throws -> CalibrationStream {
        let f = try SafetensorsFile(u)
        let ids = try f.int64s("input_ids").map { Int($0) }
        let mask = f.names.contains("attention_mask") ? try f.int64s("attention_mask").map { Int($0) } : nil
        if let m = mask, m.count != ids.count { throw PruneError("\(u.path): attention_mask has \(m.count) entries, input_ids \(ids.count)") }
        return CalibrationStream(inputIds: ids, attentionMask: mask, description: "pre-tokenised stream \(u.path)")
    }

    // MARK: CoMe

    func runCoMe(_ model: inout Model, _ windows: CalibrationWindows, _ b: ReferenceBehaviour) throws -> PruneOutcome {
        let c = config
        var o = CoMeOptions(targetLayers: c.targetLayers, skipMethod: c.skipMethod, mergeItem: c.mergeItem, woRepeat: c.woRepeat,
                            psu: Double(c.psu), minMax: c.minMax, batch: 2, behaviour: b)
        o.progress = progress.map { p in { @Sendable s, d, t in p(s, d, t) } }
        let saveName = c.saveName(plusAlways: b.plusSuffix) + "_" + c.skipMethod.rawValue
        var phases: [(String, InfoJSON)] = []
        var details: [(String, InfoJSON)] = []
        var steps: [CoMeStep] = []
        while model.numLayers > c.targetLayers {
            let s = try CoMe.step(&model, windows: windows, options: o)
            steps.append(s)
            timings.scoring += s.scoringSeconds + s.skipSeconds
            timings.merging += s.mergeSeconds
            let p = s.plan
            log("\(s.layersBefore) → \(model.numLayers): merge \(p.positions) ratio \(p.ratios.map { String(format: "%.4f", $0) }) heads \(p.headBudget) neurons \(p.neuronBudget) kept groups \(p.keptGroups); layout \(describe(s.layout))")
            for d in s.droppedExclusions {
                log("note: --wo-repeat: window \(d) does not exist (the skip vector has \(s.skip.count) entries); the reference raises IndexError here (quirk Q5), come skips it")
            }
            var rec: [(String, InfoJSON)] = [
                ("merge_info", .array(s.layout.map(InfoJSON.node))),
                ("merge_list", .ints(p.positions)),
                ("merge_ratio", .numbers(p.ratios)),
                ("layer_importance_skip", .numbers(s.skip)),
                ("layer_importance", .numbers(s.blockInfluence)),
            ]
            if let dir = c.savePath {
                var ts: [(name: String, tensor: Tensor)] = []
                for (l, v) in s.scores.neuron.enumerated() { ts.append(("neuron.\(l)", Tensor(shape: [v.count], data: v))) }
                for (l, v) in s.scores.headGroup.enumerated() { ts.append(("headgroup.\(l)", Tensor(shape: [v.count], data: v))) }
                try Safetensors.write(ts, to: dir.appendingPathComponent("\(s.phase)-importance.safetensors"), metadata: ["phase": s.phase])
            }
            if c.continueSaving {
                try save(model, name: saveName + "_\(model.numLayers)" + (c.woRepeat ? "_worepeat" : ""))
            }
            if c.continueSaving || perStepPPL {
                for (k, v) in try evaluate(model) { rec.append((k, v)) }
            }
            phases.append((s.phase, .object(rec)))
            details.append((s.phase, .object([
                ("head_budget", .ints(p.headBudget)), ("neuron_budget", .ints(p.neuronBudget)),
                ("kept_kv_groups", .array(p.keptGroups.map(InfoJSON.ints))),
                ("kept_query_heads", .array(p.keptQueryHeads.map(InfoJSON.ints))),
                ("seconds", .object([("scoring", .double(s.scoringSeconds)), ("skip", .double(s.skipSeconds)), ("merge", .double(s.mergeSeconds))])),
            ])))
        }
        var info = phases
        if !c.continueSaving {
            try save(model, name: saveName + "_\(model.numLayers)" + (c.woRepeat ? "_worepeat" : ""))
            for (k, v) in try evaluate(model) { info.append((k, v)) }
        }
        info.append(("merge_info", .array(model.mergeTree.history.map { .array($0.map(InfoJSON.node)) })))
        info.append(("come", comeRecord(b, extra: [("steps", .object(details))])))
        let infoJSON = InfoJSON.object(info)
        let url = try writeInfo(infoJSON, name: "\(saveName)_info.json", bare: b.bareInfinity)
        return PruneOutcome(info: infoJSON, infoURL: url, savedModels: [], perplexities: [], timings: timings, coMeSteps: steps, removed: [])
    }

    // MARK: SLEB

    func runSLEB(_ model: inout Model, _ windows: CalibrationWindows, _ b: ReferenceBehaviour) throws -> PruneOutcome {
        let c = config
        let L0 = model.numLayers
        var alive = Array(0..<L0)
        var removed: [Int] = []
        var info: [(String, InfoJSON)] = []
        let saveName = c.saveName(plusAlways: b.plusSuffix)
        for k in 1...(L0 - c.targetLayers) {
            let p = progress
            let ph = try Baselines.slebPhase(&model, alive: &alive, originalCount: L0, removedSoFar: removed, windows: windows, batch: 1,
                                             progress: p.map { f in { @Sendable d, t in f("\(L0 - k + 1) → \(L0 - k) sleb", d, t) } })
            removed = ph.removeOrder
            timings.scoring += ph.seconds
            log("\(model.numLayers + 1) → \(model.numLayers): SLEB removes original layer \(ph.removed) (loss \(String(format: "%.3f", ph.losses[ph.removed]!))); order \(removed)")
            var rec: [(String, InfoJSON)] = (0..<L0).map { (String($0), ph.losses[$0].map { .double($0) } ?? .null) }
            rec += [("remove_order", .ints(removed)), ("time_using", .double(ph.seconds))]
            if c.continueSaving { try save(model, name: saveName + "_\(model.numLayers)") }
            if c.continueSaving || perStepPPL { for (key, v) in try evaluate(model) { rec.append((key, v)) } }
            info.append(("Phase_\(k)", .object(rec)))
        }
        if !c.continueSaving {
            try save(model, name: saveName + "_\(model.numLayers)")
            for (k, v) in try evaluate(model) { info.append((k, v)) }
        }
        info.append(("come", comeRecord(b)))
        let j = InfoJSON.object(info)
        let url = try writeInfo(j, name: "\(c.methodFileName(plusAlways: b.plusSuffix))_info.json", bare: b.bareInfinity)
        return PruneOutcome(info: j, infoURL: url, savedModels: [], perplexities: [], timings: timings, coMeSteps: [], removed: removed)
    }

    // MARK: ShortGPT, Reverse, Magnitude, Taylor

    func runOneShot(_ model: inout Model, _ windows: CalibrationWindows?, _ b: ReferenceBehaviour) throws -> PruneOutcome {
        let c = config
        let L0 = model.numLayers
        var info: [(String, InfoJSON)] = []
        var order: [Int]
        let t0 = Date()
        switch c.method {
        case .shortgpt:
            let p = progress
            let s = try Baselines.shortGPTScores(model, windows: windows!, rounding: b.scoreRounding,
                                                 progress: p.map { f in { @Sendable d, t in f("shortgpt score", d, t) } })
            order = Baselines.ascendingOrder(s)
            info += [("layer_importance", .numbers(s)), ("sorted_indices", .ints(order)), ("time_elapsed", .double(Date().timeIntervalSince(t0)))]
            log("ShortGPT BI: " + s.enumerated().map { "\($0.offset)→\(String(format: "%.4f", $0.element))" }.joined(separator: ", "))
        case .reverse:
            order = try Baselines.reverseOrder(layers: L0, retain: c.retainLayer)
            info += [("sorted_indices", .ints(order))]
        case .magnitude:
            let s = Baselines.magnitudeScores(model, windows: windows!.count, weight: c.weightReduction, block: c.blockReduction, rounding: b.scoreRounding)
            order = Baselines.magnitudeOrder(s, heuristic: c.heuristic)
            info += [("layer_importance", .numbers(s)), ("sorted_indices", .ints(order)), ("time_elapsed", .double(Date().timeIntervalSince(t0)))]
            log("magnitude scores: " + s.enumerated().map { "\($0.offset)→\(String(format: "%.4f", $0.element))" }.joined(separator: ", "))
        case .taylor:
            // Gradients are zeroed per window unless --reference-parity (Q15: the reference never zeroes them).
            let p = progress
            let s = try Baselines.taylorScores(model, windows: windows!, weight: c.weightReduction, block: c.blockReduction,
                                               accumulate: c.referenceParity, rounding: b.scoreRounding,
                                               progress: p.map { f in { @Sendable d, t in f("taylor score", d, t) } })
            order = Baselines.magnitudeOrder(s, heuristic: c.heuristic)
            info += [("layer_importance", .numbers(s)), ("sorted_indices", .ints(order)), ("time_elapsed", .double(Date().timeIntervalSince(t0)))]
            log("taylor scores: " + s.enumerated().map { "\($0.offset)→\(String(format: "%.4f", $0.element))" }.joined(separator: ", "))
        default: throw PruneError("not a one-shot method: \(c.method.rawValue)")
        }
        timings.scoring += Date().timeIntervalSince(t0)
        log("removal order: \(order)")
        let n = L0 - c.targetLayers
        let saveName = c.saveName(plusAlways: b.plusSuffix)
        let toRemove = Array(order.prefix(n))
        if c.continueSaving || perStepPPL {
            var done: [Int] = []
            for idx in toRemove {
                try model.removeLayers([Baselines.currentPosition(of: idx, removedBefore: done)])
                done.append(idx)
                var rec: [(String, InfoJSON)] = [("remove_layer_idx_list", .ints(done))]
                if c.continueSaving { try save(model, name: saveName + "_\(model.numLayers)") }
                for (k, v) in try evaluate(model) { rec.append((k, v)) }
                info.append(("Layers_\(model.numLayers)", .object(rec)))
            }
            if !c.continueSaving { try save(model, name: saveName + "_\(model.numLayers)") }
        } else {
            try model.removeLayers(toRemove)
            try save(model, name: saveName + "_\(model.numLayers)")
            var rec: [(String, InfoJSON)] = [("remove_layer_idx_list", .ints(toRemove))]
            for (k, v) in try evaluate(model) { rec.append((k, v)) }
            info.append(("Layers_\(model.numLayers)", .object(rec)))
        }
        info.append(("come", comeRecord(b)))
        let j = InfoJSON.object(info)
        let fileName = c.method == .reverse
            ? ([ "reverse_info"] + c.retainLayer.map(String.init)).joined(separator: "_") + ".json"
            : "\(c.methodFileName(plusAlways: b.plusSuffix))_info.json"
        let url = try writeInfo(j, name: fileName, bare: b.bareInfinity)
        return PruneOutcome(info: j, infoURL: url, savedModels: [], perplexities: [], timings: timings, coMeSteps: [], removed: toRemove)
    }

    // MARK: outputs

    /// Perplexity on every --ppl-data set (§2.2: windows of S, batch 1), as `{ds}_ppl` entries.
    func evaluate(_ model: Model) throws -> [(String, InfoJSON)] {
        if let l = lastEvaluation, l.layers == model.numLayers { return l.entries }
        var out: [(String, InfoJSON)] = []
        for ds in config.pplData {
            let t0 = Date()
            defer { timings.evaluation += Date().timeIntervalSince(t0) }
            if pplCache[ds] == nil {
                guard let tok = model.tokenizer else { throw PruneError("perplexity needs a tokenizer; \(model.source) has none") }
                let (ids, source) = try PerplexityData.named(ds).tokens(tok, seqlen: config.seqlen, dataDir: config.dataDir)
                pplCache[ds] = try Perplexity.windows(ids, seqlen: config.seqlen, limit: config.pplWindows)
                log("\(ds): \(source), \(pplCache[ds]!.count) windows of \(config.seqlen)")
            }
            let p = progress
            let r = try Perplexity.evaluate(model, windows: pplCache[ds]!, batch: config.pplBatch) { d, t in p?("\(ds) ppl at \(model.numLayers) layers", d, t) }
            log(String(format: "%@ perplexity at %d layers: %.4f", ds, model.numLayers, r.perplexity))
            perplexities.append((model.numLayers, ds, r.perplexity))
            out.append(("\(ds)_ppl", .double(r.perplexity)))
        }
        lastEvaluation = (model.numLayers, out)
        return out
    }

    func save(_ model: Model, name: String) throws {
        guard config.saveModels, let dir = config.savePath else { return }
        let t0 = Date()
        defer { timings.saving += Date().timeIntervalSince(t0) }
        let u = dir.appendingPathComponent(name)
        try PruneJob.saveCheckpoint(model, to: u, note: log)
        saved.append(u)
        log("saved \(u.path)")
    }

    /// The model as an HF folder (Transformer's ModelSaver): safetensors in the source's
    /// float dtype (F32 for GGUF), config.json with the current layer count, head_dim (as the
    /// reference adds it, §1.4) and `come_merge_tree`, and the tokenizer files.
    public static func saveCheckpoint(_ model: Model, to u: URL, note: (String) -> Void = { _ in }) throws {
        let dtype: StorageDType
        switch model.config.dtype.lowercased() {
        case "float16": dtype = .f16
        case "bfloat16": dtype = .bf16
        default: dtype = .f32
        }
        var extra: [String: JSONValue] = [:]
        if model.config.architecture != .opt, model.config.raw["head_dim"] == nil { extra["head_dim"] = .int(model.config.headDim) }
        if model.auxiliaryFiles["tokenizer.json"] == nil, model.tokenizer != nil {
            note("note: no tokenizer.json could be written for \(model.source); the saved folder has weights and config only")
        }
        try ModelSaver.save(model, to: u, dtype: dtype, extraConfig: extra)
    }

    func writeInfo(_ j: InfoJSON, name: String, bare: Bool) throws -> URL? {
        guard let dir = config.savePath else { return nil }
        let u = dir.appendingPathComponent(name)
        try write(j, to: u, bare: bare)
        log("info: \(u.path)")
        return u
    }

    func write(_ j: InfoJSON, to u: URL, bare: Bool) throws {
        try Data(j.serialized(bareInfinity: bare).utf8).write(to: u, options: .atomic)
    }

    func describe(_ layout: [MergeNode]) -> String { "[" + layout.map(\.description).joined(separator: ", ") + "]" }
}

extension InfoJSON {
    static func node(_ n: MergeNode) -> InfoJSON {
        switch n {
        case .leaf(let i): return .int(i)
        case .group(let c): return .array(c.map(node))
        }
    }
}
