// `distill`: CoMe's hierarchical distillation as a builtin. It returns a report that shows
// per layer the loss before and after with a sparkline of its curve, the perplexity before
// and after, and (in a notebook) the loss curves as a figure; `r.model` is the student.
import Corpora
import Distillation
import Evaluation
import Foundation
import Script
import Transformer

public final class DistillObject: FigureCarrying {
    public let model: ModelObject
    public let report: DistillReport
    init(_ m: ModelObject, _ r: DistillReport) { model = m; report = r }
    public var typeName: String { "distillation" }
    public var summary: String {
        "<distillation \(report.mode.rawValue) of \(report.layers.count) layers>"
    }
    public var fieldNames: [String] {
        ["model", "layers", "loss_before", "loss_after", "curves", "ppl_before", "ppl_after", "seconds", "tokens", "tokens_per_s",
         "peak_memory", "options"]
    }
    public func field(_ n: String) -> Value? {
        let r = report
        switch n {
        case "model": return .host(model)
        case "layers": return .list(r.layers.map { .int($0.position) })
        case "loss_before": return .list(r.layers.map { .float($0.lossBefore) })
        case "loss_after": return .list(r.layers.map { .float($0.lossAfter) })
        case "curves": return .list(r.layers.map { .list($0.curve.map(Value.float)) })
        case "ppl_before": return r.perplexityBefore.map(Value.float) ?? Value.none
        case "ppl_after": return r.perplexityAfter.map(Value.float) ?? Value.none
        case "seconds": return .float(r.seconds)
        case "tokens": return .int(r.tokens)
        case "tokens_per_s": return .float(r.tokensPerSecond)
        case "peak_memory": return .int(r.peakMemoryBytes)
        case "options": return .string(r.options)
        default: return nil
        }
    }
    /// One line per layer: its loss curve.
    public var figures: [Figure] {
        guard let n = report.layers.map(\.curve.count).max(), n > 0 else { return [] }
        let series = report.layers.map { l in
            (name: l.position < 0 ? "global (KL of next-token distributions)" : "layer \(l.position) ← \(l.originals.map(String.init).joined(separator: "+"))",
             values: l.curve + [Double](repeating: .nan, count: n - l.curve.count))
        }
        return [Figure(grouped: series, labels: (1...n).map(String.init), title: "distillation loss per step", kind: .line)]
    }
    public func render(_ o: DisplayOptions) -> String {
        var rows: [[Value]] = []
        for l in report.layers {
            rows.append([l.position < 0 ? .string("global") : .int(l.position),
                         .string(l.position < 0 ? "layers " + l.originals.map(String.init).joined(separator: ", ") : l.originals.map(String.init).joined(separator: "+")),
                         .float(l.lossBefore),
                         .float(l.lossAfter), .string(sparkline(l.curve, unicode: o.terminal))])
        }
        var s = Table(columns: ["layer", "originals", "loss before", "loss after", "curve"], rows: rows).render(o)
        if let b = report.perplexityBefore, let a = report.perplexityAfter {
            s += String(format: "\nperplexity %.4f → %.4f", b, a)
        }
        s += String(format: "\n%d tokens in %.1f s (%.0f tokens/s), peak memory %@", report.tokens, report.seconds,
                    report.tokensPerSecond, formatBytes(report.peakMemoryBytes))
        return s
    }
}

/// A one-line chart of a series: eight levels of block characters (or ASCII digits off a terminal).
func sparkline(_ xs: [Double], width: Int = 40, unicode: Bool = true) -> String {
    let finite = xs.filter(\.isFinite)
    guard let lo = finite.min(), let hi = finite.max(), !xs.isEmpty else { return "" }
    // Average into at most `width` buckets.
    let buckets = min(width, xs.count)
    let vals = (0..<buckets).map { b -> Double in
        let a = b * xs.count / buckets, e = max(a + 1, (b + 1) * xs.count / buckets)
        return xs[a..<e].reduce(0, +) / Double(e - a)
    }
    let glyphs: [Character] = unicode ? ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] : ["1", "2", "3", "4", "5", "6", "7", "8"]
    return String(vals.map { v in
        let f = hi > lo ? (v - lo) / (hi - lo) : 0
        return glyphs[min(7, max(0, Int((f * 7).rounded())))]
    })
}

func distillBuiltins() -> [BuiltinSpec] {
    let modelType = ValueType.host("model")
    return [
        BuiltinSpec("distill", [ParamSpec("student", modelType, completer: .variables(ofType: "model"), help: "a pruned model with its merge tree"),
                                ParamSpec("teacher", modelType, completer: .variables(ofType: "model"), help: "the original model"),
                                ParamSpec("data", .host("calibration"), completer: .variables(ofType: "calibration"),
                                          help: "training windows (calibration(...))"),
                                ParamSpec("mode", .string, default: .string("local"), completer: .choices(DistillMode.allCases.map(\.rawValue))),
                                ParamSpec("loss", .string, default: .string("mse"), completer: .choices(["kl", "mse", "cosine", "kl+mse"]),
                                          help: "mse, kl, kl-logits, cosine or a weighted sum such as \"mse+0.1*kl\""),
                                ParamSpec("tau", .number, default: .float(1), help: "the KL term's temperature"),
                                ParamSpec("steps", .int, default: .int(100), help: "optimiser steps per layer"),
                                ParamSpec("lr", .number, default: .float(2e-4)),
                                ParamSpec("warmup", .int, default: .int(10), help: "warm-up steps, then cosine decay"),
                                ParamSpec("weight_decay", .number, default: .float(0)),
                                ParamSpec("clip", .number, default: .float(1), help: "global gradient-norm clip (0 = none)"),
                                ParamSpec("micro_batch", .int, default: .int(1), help: "windows per micro-batch"),
                                ParamSpec("accumulate", .int, default: .int(1), help: "micro-batches per step"),
                                ParamSpec("trainable", .string, default: .string("all"), completer: .choices(["all", "norms", "lora:8"])),
                                ParamSpec("all_layers", .bool, default: .bool(false), help: "train untouched layers too"),
                                ParamSpec("seed", .int, default: .int(0), help: "fixes the data order and LoRA's initialisation"),
                                ParamSpec("held_out", .optional(.host("calibration")), default: .none,
                                          help: "windows for perplexity before and after"),
                                ParamSpec("global_steps", .int, default: .int(0),
                                          help: "after local/sequential: steps of end-to-end KL on next-token distributions"),
                                ParamSpec("global_tau", .number, default: .float(1), help: "the global stage's temperature"),
                                ParamSpec("checkpoint_every", .int, default: .int(0)),
                                ParamSpec("checkpoint_dir", .optional(.string), default: .none),
                                ParamSpec("resume", .bool, default: .bool(false), help: "continue from checkpoint_dir")],
                    returns: .host("distillation"), effects: [.writesFiles], category: "compression",
                    help: "Hierarchical distillation: each merged student layer learns to map the teacher's hidden\nstate entering its first original layer to the one leaving its last (the merge tree's\ncorrespondence); local trains each alone, sequential feeds each the student's own stream; global (or\nglobal_steps after either) trains them end to end on the KL of next-token distributions.\nReturns a report; r.model is the distilled student.") { a, ctx in
            let s = try a.host("student", as: ModelObject.self), t = try a.host("teacher", as: ModelObject.self)
            let data = try a.host("data", as: CalibrationObject.self)
            func bad(_ m: String, _ arg: String) -> ScriptError { ScriptError(m, id: "E0604", argument: arg) }
            var o = DistillOptions()
            guard let mode = DistillMode(rawValue: try a.string("mode")) else { throw bad("mode must be local, sequential or global", "mode") }
            o.mode = mode
            do { o.loss = try DistillLoss(parse: try a.string("loss"), temperature: try a.double("tau")) } catch { throw bad("\(error)", "loss") }
            do { o.trainable = try Trainable(parse: try a.string("trainable")) } catch { throw bad("\(error)", "trainable") }
            o.steps = try a.int("steps")
            o.microBatch = try a.int("micro_batch")
            o.accumulate = try a.int("accumulate")
            o.optimiser.lr = try a.double("lr")
            o.optimiser.warmupSteps = try a.int("warmup")
            o.optimiser.weightDecay = try a.double("weight_decay")
            o.optimiser.clipNorm = try a.double("clip")
            o.allLayers = try a.bool("all_layers")
            o.globalSteps = try a.int("global_steps")
            o.globalTemperature = try a.double("global_tau")
            o.seed = UInt64(try a.int("seed"))
            o.checkpointEvery = try a.int("checkpoint_every")
            o.checkpointDirectory = try a.optionalString("checkpoint_dir").map { URL(fileURLWithPath: ctx.resolvePath($0)) }
            for (name, v) in [("steps", o.steps), ("micro_batch", o.microBatch), ("accumulate", o.accumulate)] where v < 1 {
                throw bad("\(name) must be at least 1", name)
            }
            if o.checkpointEvery > 0 && o.checkpointDirectory == nil { throw bad("checkpoint_every needs checkpoint_dir", "checkpoint_dir") }
            let heldOut = a.isNone("held_out") ? nil : try a.host("held_out", as: CalibrationObject.self).windows.ids
            ctx.recordRead(s); ctx.recordRead(t); ctx.recordRead(data)
            let flag = ctx
            let (model, report) = try engine {
                try Distiller.run(student: s.model, teacher: t.model, windows: data.windows.ids, heldOut: heldOut, options: o,
                                  resume: try a.bool("resume"), progress: { p in
                                      let f = (Double(p.layer - 1) + Double(p.step) / Double(p.steps)) / Double(p.layers)
                                      ctx.progress(f, String(format: "layer %d/%d step %d/%d loss %.5f lr %.2e %.0f tok/s",
                                                             p.layer, p.layers, p.step, p.steps, p.loss, p.lr, p.tokensPerSecond))
                                  }, shouldCancel: { [unowned flag] in flag.isCancelled })
            }
            let obj = ModelObject(model)
            ctx.recordWritten(obj)
            ctx.recordResult("loss_after", .list(report.layers.map { .float($0.lossAfter) }))
            if let p = report.perplexityAfter { ctx.recordResult("ppl_after", .float(p)) }
            return .host(DistillObject(obj, report))
        },
    ]
}
