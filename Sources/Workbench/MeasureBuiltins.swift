// Size and speed as builtins: `params` (parameter counts by component, bytes, the ratio to
// a reference) and `latency` (prompt processing and generation, reference-algorithms.md
// §2.4 at CPU sizes, with the speedup over a dense model). Both show as tables.
import Evaluation
import Foundation
import Script
import Tensors
import Transformer

/// `params(m)`: a record-like value (`r.total`, `r.per_layer`, `r.record` for the plain
/// record) that shows as a table, the layers with equal counts on one row.
public final class ParamsObject: HostObject {
    public let report: ParameterReport
    public let reference: ParameterReport?
    public let source: String

    public init(_ report: ParameterReport, reference: ParameterReport? = nil, source: String = "") {
        self.report = report; self.reference = reference; self.source = source
    }

    public var typeName: String { "params" }
    public var summary: String {
        var s = "<params: \(formatCount(report.total)) in \(report.layers.count) layers"
        if let r = ratio { s += String(format: ", %.1f %% removed", r.removed * 100) }
        return s + ">"
    }

    var ratio: CompressionRatio? { reference.map { report.compressionRatio(against: $0) } }

    public var record: Record {
        let p = report
        var fields: [(String, Value)] = [
            ("total", .int(p.total)), ("embeddings", .int(p.embeddings)), ("input_embedding", .int(p.inputEmbedding)),
            ("lm_head", .int(p.lmHead)), ("tied", .bool(p.tied)),
        ]
        if p.positionEmbedding > 0 { fields.append(("position_embedding", .int(p.positionEmbedding))) }
        fields += [
            ("per_layer", .list(p.layers.enumerated().map { i, l in
                .record(Record([("layer", .int(i)), ("attention", .int(l.attention)), ("mlp", .int(l.mlp)),
                                ("norms", .int(l.norms)), ("total", .int(l.total))]))
            })),
            ("final_norm", .int(p.finalNorm)), ("non_embedding", .int(p.nonEmbedding)),
            ("fp32_bytes", .int(p.fp32Bytes)), ("bf16_bytes", .int(p.bf16Bytes)),
        ]
        if let r = ratio {
            fields += [("reference_total", .int(r.reference)), ("ratio", .float(r.ratio)), ("removed", .float(r.removed))]
        }
        return Record(fields)
    }

    public var fieldNames: [String] { record.keys + ["record"] }
    public func field(_ name: String) -> Value? { name == "record" ? .record(record) : record[name] }

    /// Component rows; a run of layers with the same counts is one row of per-layer counts.
    public var table: Table {
        let p = report, total = Double(max(p.total, 1))
        func share(_ n: Int) -> Value { .string(String(format: "%6.2f %%", Double(n) / total * 100)) }
        var rows: [[Value]] = [[.string("embed_tokens"), .none, .none, .none, .int(p.inputEmbedding), share(p.inputEmbedding)]]
        if p.positionEmbedding > 0 {
            rows.append([.string("embed_positions"), .none, .none, .none, .int(p.positionEmbedding), share(p.positionEmbedding)])
        }
        rows.append(p.tied ? [.string("lm_head (tied)"), .none, .none, .none, .int(0), share(0)]
                           : [.string("lm_head"), .none, .none, .none, .int(p.lmHead), share(p.lmHead)])
        var i = 0
        while i < p.layers.count {
            var j = i + 1
            while j < p.layers.count && p.layers[j] == p.layers[i] { j += 1 }
            let l = p.layers[i]
            let name = j - i == 1 ? "layer \(i)" : "layers \(i)–\(j - 1), each"
            rows.append([.string(name), .int(l.attention), .int(l.mlp), .int(l.norms), .int(l.total), share(l.total)])
            i = j
        }
        let layers = p.layers.reduce(ParameterReport.Layer(attention: 0, mlp: 0, norms: 0)) {
            .init(attention: $0.attention + $1.attention, mlp: $0.mlp + $1.mlp, norms: $0.norms + $1.norms)
        }
        rows.append([.string("all \(p.layers.count) layers"), .int(layers.attention), .int(layers.mlp), .int(layers.norms),
                     .int(layers.total), share(layers.total)])
        rows.append([.string("final norm"), .none, .none, .none, .int(p.finalNorm), share(p.finalNorm)])
        rows.append([.string("total"), .none, .none, .none, .int(p.total), share(p.total)])
        return Table(columns: ["part", "attention", "mlp", "norms", "parameters", "share"], rows: rows)
    }

    public func render(_ options: DisplayOptions) -> String {
        let p = report
        var head = "parameters" + (source.isEmpty ? "" : " of \(source)")
            + ": \(p.total) (\(formatCount(p.total))); fp32 \(formatBytes(p.fp32Bytes)), bf16 \(formatBytes(p.bf16Bytes))"
        if let r = ratio {
            head += String(format: "\nagainst %d: ratio %.4f×, %.2f %% removed (%d parameters)", r.reference, r.ratio,
                           r.removed * 100, r.removedParameters)
        }
        return head + "\n" + table.render(options)
    }
}

/// `latency(m)`: the timings as fields (`r.prompt_ms.median`, `r.gen_tokens_per_s`,
/// `r.prompt_speedup`), shown as a table beside the `against` model's.
public final class LatencyObject: HostObject {
    public let result: LatencyResult
    public let against: LatencyResult?
    public let options: LatencyOptions
    public let layers: Int
    public let againstLayers: Int?

    public init(_ result: LatencyResult, against: LatencyResult? = nil, options: LatencyOptions, layers: Int, againstLayers: Int? = nil) {
        self.result = result; self.against = against; self.options = options; self.layers = layers; self.againstLayers = againstLayers
    }

    public var typeName: String { "latency" }
    public var summary: String {
        var parts: [String] = []
        if let p = result.prompt { parts.append(String(format: "prompt %.1f ms", p.medianMs)) }
        if let g = result.generation { parts.append(String(format: "%.1f tokens/s generated", g.tokensPerSecond)) }
        if let s = promptSpeedup { parts.append(String(format: "prompt speedup %.2f×", s)) }
        return "<latency: " + parts.joined(separator: ", ") + ">"
    }

    var promptSpeedup: Double? {
        guard let p = result.prompt, let d = against?.prompt else { return nil }
        return Latency.speedup(p, d)
    }
    var generationSpeedup: Double? {
        guard let g = result.generation, let d = against?.generation else { return nil }
        return Latency.speedup(g, d)
    }

    static func msRecord(_ t: Timing) -> Value {
        .record(Record([("median", .float(t.medianMs)), ("min", .float(t.minMs)), ("max", .float(t.maxMs)), ("mean", .float(t.meanMs))]))
    }

    static func fields(_ r: LatencyResult) -> [(String, Value)] {
        var f: [(String, Value)] = []
        if let p = r.prompt { f += [("prompt_ms", msRecord(p)), ("prompt_tokens_per_s", .float(p.tokensPerSecond))] }
        if let g = r.generation { f += [("gen_ms", msRecord(g)), ("gen_tokens_per_s", .float(g.tokensPerSecond))] }
        return f
    }

    public var record: Record {
        var f: [(String, Value)] = [("layers", .int(layers))] + LatencyObject.fields(result)
        if let a = against {
            f.append(("against", .record(Record([("layers", .int(againstLayers ?? 0))] + LatencyObject.fields(a)))))
            if let s = promptSpeedup { f.append(("prompt_speedup", .float(s))) }
            if let s = generationSpeedup { f.append(("gen_speedup", .float(s))) }
        }
        let o = options
        f.append(("settings", .record(Record([
            ("batch", .int(o.batch)), ("prompt", .int(o.promptLength)), ("reps", .int(o.promptReps)),
            ("prompt_tokens", .int(o.generationPrompt)), ("generate", .int(o.newTokens)), ("gen_reps", .int(o.generationReps)),
            ("warmup", .int(o.warmup)), ("logits", .string(o.logits == .last ? "last" : "all")), ("threads", .int(Threads.count)),
        ]))))
        return Record(f)
    }

    public var fieldNames: [String] { record.keys + ["record"] }
    public func field(_ name: String) -> Value? { name == "record" ? .record(record) : record[name] }

    public var table: Table {
        let o = options
        var columns = ["measure", "\(layers) layers"]
        if against != nil { columns += ["against (\(againstLayers ?? 0) layers)", "speedup"] }
        func ms(_ t: Timing?) -> Value { t.map { .string(String(format: "%.2f", $0.medianMs)) } ?? .none }
        func range(_ t: Timing?) -> Value { t.map { .string(String(format: "%.2f–%.2f", $0.minMs, $0.maxMs)) } ?? .none }
        func rate(_ t: Timing?) -> Value { t.map { .string(String(format: "%.1f", $0.tokensPerSecond)) } ?? .none }
        func ratio(_ s: Double?) -> Value { s.map { .string(String(format: "%.3f×", $0)) } ?? .none }
        var rows: [[Value]] = []
        func add(_ name: String, _ f: (Timing?) -> Value, _ pick: (LatencyResult) -> Timing?, speedup: Double?) {
            var row: [Value] = [.string(name), f(pick(result))]
            if let a = against { row += [f(pick(a)), speedup.map { ratio($0) } ?? .none] }
            rows.append(row)
        }
        if result.prompt != nil {
            add("prompt \(o.batch)×\(o.promptLength), ms (median of \(o.promptReps))", ms, \.prompt, speedup: promptSpeedup)
            add("  min–max", range, \.prompt, speedup: nil)
            add("  tokens/s", rate, \.prompt, speedup: nil)
        }
        if result.generation != nil {
            add("generate \(o.generationPrompt) + \(o.newTokens), ms (median of \(o.generationReps))", ms, \.generation, speedup: generationSpeedup)
            add("  min–max", range, \.generation, speedup: nil)
            add("  new tokens/s", rate, \.generation, speedup: nil)
        }
        return Table(columns: columns, rows: rightAligned(rows, columns: columns, from: 1))
    }

    public func render(_ options: DisplayOptions) -> String {
        let o = self.options
        let head = "latency on \(Threads.count) thread\(Threads.count == 1 ? "" : "s"), \(o.warmup) warm-up run\(o.warmup == 1 ? "" : "s") each; "
            + "prompt logits over \(o.logits == .last ? "the last position" : "every position")"
            + (against == nil ? "" : "; speedup = against median / this median, repetitions interleaved")
        return head + "\n" + table.render(options)
    }
}

/// Text cells of numbers padded to one width per column, so they line up on the right (the
/// table aligns only numeric cells right, and these carry units and fixed decimals).
func rightAligned(_ rows: [[Value]], columns: [String], from first: Int) -> [[Value]] {
    guard let n = rows.map(\.count).max(), n > first else { return rows }
    var out = rows
    for k in first..<n {
        func text(_ v: Value) -> String? { if case .string(let s) = v { return s }; return nil }
        let width = max(k < columns.count ? columns[k].count : 0, rows.map { k < $0.count ? (text($0[k])?.count ?? 0) : 0 }.max() ?? 0)
        for r in out.indices where k < out[r].count {
            if let s = text(out[r][k]) { out[r][k] = .string(String(repeating: " ", count: width - s.count) + s) }
        }
    }
    return out
}

private func mfail(_ m: String, _ arg: String? = nil) -> ScriptError { ScriptError(m, id: "E0601", argument: arg) }

public func measureBuiltins() -> [BuiltinSpec] {
    let modelType = ValueType.host("model")
    let modelCompleter = Completer.variables(ofType: "model")
    return [
        BuiltinSpec("params", [ParamSpec("m", modelType, completer: modelCompleter),
                               ParamSpec("against", .optional(modelType), default: .none, completer: modelCompleter,
                                         help: "a reference model (the dense original): adds ratio and removed")],
                    returns: .host("params"), category: "engine",
                    help: "Parameter counts: total, embeddings (embed_tokens, and lm_head when untied), each layer's\nattention / MLP / norms, the final norm, bytes at fp32 and bf16; with `against`, the ratio\n(its parameters / these) and the fraction removed. Shows as a table; `r.record` is a record.") { a, ctx in
            let m = try modelArg(a)
            ctx.recordRead(m)
            var reference: ParameterReport?
            if !a.isNone("against") {
                let d = try modelArg(a, "against")
                ctx.recordRead(d)
                reference = ParameterReport(d.model)
            }
            let obj = ParamsObject(ParameterReport(m.model), reference: reference, source: m.model.source)
            ctx.recordResult("total", .int(obj.report.total))
            if let r = obj.ratio { ctx.recordResult("ratio", .float(r.ratio)); ctx.recordResult("removed", .float(r.removed)) }
            return .host(obj)
        },
        BuiltinSpec("latency", [ParamSpec("m", modelType, completer: modelCompleter),
                                ParamSpec("against", .optional(modelType), default: .none, completer: modelCompleter,
                                          help: "a dense model to measure in the same run: adds speedups"),
                                ParamSpec("batch", .int, default: .int(1), help: "prompt rows per forward"),
                                ParamSpec("prompt", .int, default: .int(256), help: "prompt tokens per row (0 = skip prompt timing)"),
                                ParamSpec("generate", .int, default: .int(32), help: "new tokens per generate call (0 = skip)"),
                                ParamSpec("prompt_tokens", .int, default: .int(32), help: "prompt length before generating"),
                                ParamSpec("reps", .int, default: .int(5), help: "timed prompt forwards; generation runs max(1, reps / 2 + 1)"),
                                ParamSpec("warmup", .int, default: .int(1), help: "untimed runs before each measurement"),
                                ParamSpec("logits", .string, default: .string("all"), completer: .choices(["all", "last"]),
                                          help: "\"all\": the LM head over every position, as the reference's model(input)")],
                    returns: .host("latency"), category: "engine",
                    help: "Prompt-processing latency (one forward of batch × prompt random ids, no KV cache) and\ngeneration throughput (batch 1, exactly `generate` new tokens with the cache, EOS ignored):\nmedian / min / max / mean ms and tokens/s. With `against`, both models run interleaved in\none measurement and speedup = against median / this median. Timings are logged but not\ncompared on replay.") { a, ctx in
            let m = try modelArg(a)
            var o = LatencyOptions()
            o.batch = try a.int("batch")
            let prompt = try a.int("prompt"), generate = try a.int("generate"), reps = try a.int("reps")
            o.measurePrompt = prompt > 0; o.measureGeneration = generate > 0
            guard o.measurePrompt || o.measureGeneration else { throw mfail("`prompt` and `generate` are both 0: nothing to time", "prompt") }
            o.promptLength = max(prompt, 1); o.newTokens = max(generate, 1)
            o.generationPrompt = try a.int("prompt_tokens")
            o.promptReps = reps; o.generationReps = max(1, reps / 2 + 1)
            o.warmup = try a.int("warmup")
            switch try a.string("logits") {
            case "all": o.logits = .all
            case "last": o.logits = .last
            default: throw mfail("`logits` must be \"all\" or \"last\"", "logits")
            }
            ctx.recordRead(m)
            let flag = ctx
            let progress: (Int, Int) -> Void = { done, total in ctx.progress(Double(done) / Double(total), "\(done)/\(total) runs") }
            let obj: LatencyObject
            if a.isNone("against") {
                let r = try engine { try Latency.measure(m.model, options: o, progress: progress, shouldCancel: { [unowned flag] in flag.isCancelled }) }
                obj = LatencyObject(r, options: o, layers: m.model.numLayers)
            } else {
                let d = try modelArg(a, "against")
                ctx.recordRead(d)
                let c = try engine {
                    try Latency.compare(m.model, dense: d.model, options: o, progress: progress, shouldCancel: { [unowned flag] in flag.isCancelled })
                }
                obj = LatencyObject(c.pruned, against: c.dense, options: o, layers: m.model.numLayers, againstLayers: d.model.numLayers)
            }
            ctx.recordResult("layers", .int(m.model.numLayers))
            for (k, v) in obj.record.fields where k != "layers" { ctx.recordMeasurement(k, v) }
            return .host(obj)
        },
    ]
}
