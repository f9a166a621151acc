// Comparison reports: several models (the first is the dense reference) side by side —
// per-task zero-shot accuracy, the average and the fraction of the reference's average a
// model retains (the paper's "retains 83 %"), perplexities, parameter counts and the
// speedup measured in one interleaved latency run — as a table and a grouped bar chart.
// Zero-shot and perplexity results are cached per model fingerprint and settings.
import Corpora
import Evaluation
import Foundation
import Script
import Tokenizers
import Transformer

public struct ComparisonSettings: Sendable {
    public var tasks: [ZeroShotTask] = ZeroShotTask.allCases
    public var limit: Double? = nil
    public var batch = 8
    public var bos = false
    public var dataDir: URL? = nil
    /// Perplexity data sets ("wiki2", "c4" or a file path), seqlen and window limit.
    public var ppl: [String] = []
    public var seqlen = 2048
    public var pplLimit: Int? = nil
    public var latency = true
    public var latencyOptions = LatencyOptions()
    public init() {}
}

public struct ComparisonRow: Sendable {
    public var name: String
    public var layers: Int
    public var parameters: Int
    public var zeroShot: ZeroShotReport?
    public var perplexity: [(data: String, value: Double)]
    public var latency: LatencyResult?
}

public struct Comparison: Sendable {
    public var rows: [ComparisonRow]
    public var settings: ComparisonSettings

    public var reference: ComparisonRow { rows[0] }
    /// A model's average over the reference's: the share of accuracy it retains.
    public func retained(_ r: ComparisonRow) -> Double? {
        guard let a = r.zeroShot?.averageHeadline, let d = reference.zeroShot?.averageHeadline, d > 0 else { return nil }
        return a / d
    }
    public func speedup(_ r: ComparisonRow) -> Double? {
        guard let p = r.latency?.prompt, let d = reference.latency?.prompt else { return nil }
        return Latency.speedup(p, d)
    }
    public func generationSpeedup(_ r: ComparisonRow) -> Double? {
        guard let p = r.latency?.generation, let d = reference.latency?.generation else { return nil }
        return Latency.speedup(p, d)
    }

    public var columns: [String] {
        var c = ["model", "layers", "params"]
        if rows.first?.zeroShot != nil {
            c += settings.tasks.map { $0.metrics.contains("acc_norm") ? "\($0.rawValue) (norm)" : $0.rawValue }
            c += ["average", "retained"]
        }
        c += settings.ppl.map { "ppl \($0)" }
        if settings.latency { c += ["prompt ms", "speedup", "gen tok/s"] }
        return c
    }

    public var table: [[Value]] {
        rows.map { r in
            var v: [Value] = [.string(r.name), .int(r.layers), .string(formatCount(r.parameters))]
            if let z = r.zeroShot {
                v += z.results.map { .float($0.accNorm ?? $0.acc) }
                v += [.float(z.averageHeadline), retained(r).map { .string(String(format: "%.1f %%", $0 * 100)) } ?? .none]
            }
            v += r.perplexity.map { .float($0.value) }
            if settings.latency {
                v += [r.latency?.prompt.map { .float($0.medianMs) } ?? .none,
                      speedup(r).map { .string(String(format: "%.2f×", $0)) } ?? .none,
                      r.latency?.generation.map { .float($0.tokensPerSecond) } ?? .none]
            }
            return v
        }
    }

    /// Tasks (and the average) on the x axis, one bar per model.
    public var figure: Figure? {
        guard rows.allSatisfy({ $0.zeroShot != nil }) else { return nil }
        let labels = settings.tasks.map(\.rawValue) + ["average"]
        let series = rows.map { r -> (name: String, values: [Double]) in
            let z = r.zeroShot!
            return (r.name, z.results.map { $0.accNorm ?? $0.acc } + [z.averageHeadline])
        }
        return Figure(grouped: series, labels: labels, title: "zero-shot accuracy (acc_norm where reported, else acc)")
    }

    /// Runs everything a comparison needs; `progress` gets a fraction and the phase ("model: task").
    public static func run(_ models: [(name: String, model: Model, fingerprint: String)], settings: ComparisonSettings,
                           progress: @escaping (Double?, String) -> Void = { _, _ in },
                           shouldCancel: (@Sendable () -> Bool)? = nil) throws -> Comparison {
        guard !models.isEmpty else { throw ModelError("compare: no models") }
        var rows: [ComparisonRow] = []
        for (name, m, fp) in models {
            var z: ZeroShotReport? = nil
            if !settings.tasks.isEmpty {
                var results: [ZeroShotTaskResult] = []
                for task in settings.tasks {
                    results.append(try EvaluationCache.zeroShot(m, fingerprint: fp, task: task, settings: settings, progress: { d, t in
                        progress(Double(d) / Double(t), "\(name): \(task.rawValue)")
                    }, shouldCancel: shouldCancel))
                }
                z = ZeroShotReport(model: m.source, results: results, limit: settings.limit, batch: settings.batch)
            }
            var ppl: [(String, Double)] = []
            for data in settings.ppl {
                ppl.append((data, try EvaluationCache.perplexity(m, fingerprint: fp, data: data, settings: settings, progress: { d, t in
                    progress(Double(d) / Double(t), "\(name): ppl \(data)")
                }, shouldCancel: shouldCancel)))
            }
            rows.append(ComparisonRow(name: name, layers: m.numLayers, parameters: ParameterReport(m).total, zeroShot: z,
                                      perplexity: ppl, latency: nil))
        }
        if settings.latency {
            let lat = try Latency.compare(models.map(\.model), options: settings.latencyOptions, progress: { d, t in
                progress(Double(d) / Double(t), "latency")
            }, shouldCancel: shouldCancel.map { c in { c() } })
            for k in rows.indices { rows[k].latency = lat[k] }
        }
        return Comparison(rows: rows, settings: settings)
    }

    /// A Markdown table (for files and the CLI).
    public func markdown() -> String { Table(columns: columns, rows: table).markdown() }
}

/// Results already computed in this process, by model fingerprint and settings, so a REPL
/// session does not compute them twice.
public enum EvaluationCache {
    nonisolated(unsafe) static var zeroShotResults: [String: ZeroShotTaskResult] = [:]
    nonisolated(unsafe) static var perplexities: [String: Double] = [:]
    static let lock = NSLock()

    public static func zeroShot(_ m: Model, fingerprint: String, task: ZeroShotTask, settings s: ComparisonSettings,
                                progress: ((Int, Int) -> Void)? = nil, shouldCancel: (@Sendable () -> Bool)? = nil) throws -> ZeroShotTaskResult {
        let key = [fingerprint, task.rawValue, s.limit.map { String($0) } ?? "all", String(s.bos), s.dataDir?.path ?? "-"].joined(separator: "|")
        lock.lock()
        let hit = zeroShotResults[key]
        lock.unlock()
        if let h = hit { return h }
        let r = try ZeroShot.run(m, task: task, limit: s.limit, batch: s.batch, addSpecialTokens: s.bos, dataDir: s.dataDir,
                                 progress: progress, shouldCancel: shouldCancel)
        lock.lock(); zeroShotResults[key] = r; lock.unlock()
        return r
    }

    public static func perplexity(_ m: Model, fingerprint: String, data: String, settings s: ComparisonSettings,
                                  progress: ((Int, Int) -> Void)? = nil, shouldCancel: (@Sendable () -> Bool)? = nil) throws -> Double {
        let key = [fingerprint, data, String(s.seqlen), s.pplLimit.map(String.init) ?? "all", s.dataDir?.path ?? "-"].joined(separator: "|")
        lock.lock()
        let hit = perplexities[key]
        lock.unlock()
        if let h = hit { return h }
        guard let tok = m.tokenizer else { throw ModelError("\(m.source) has no tokenizer") }
        let (ids, _) = try PerplexityData.named(data).tokens(tok, seqlen: s.seqlen, dataDir: s.dataDir)
        let windows = try Perplexity.windows(ids, seqlen: s.seqlen, limit: s.pplLimit)
        let r = try Perplexity.evaluate(m, windows: windows, batch: 1, progress: progress, shouldCancel: shouldCancel)
        lock.lock(); perplexities[key] = r.perplexity; lock.unlock()
        return r.perplexity
    }
}

/// The value `compare` returns: the table in a terminal, the grouped bar chart in a notebook.
public final class ComparisonObject: FigureCarrying {
    public let comparison: Comparison
    init(_ c: Comparison) { comparison = c }
    public var typeName: String { "comparison" }
    public var summary: String { "<comparison of \(comparison.rows.count) models>" }
    public var fieldNames: [String] { ["models", "table", "average", "retained", "speedup", "parameters", "figure"] }
    public var figures: [Figure] { comparison.figure.map { [$0] } ?? [] }
    public func field(_ n: String) -> Value? {
        let c = comparison
        func per(_ f: (ComparisonRow) -> Double?) -> Value {
            .record(Record(c.rows.map { r in (r.name, f(r).map(Value.float) ?? .none) }))
        }
        switch n {
        case "models": return .list(c.rows.map { .string($0.name) })
        case "table": return .host(Table(columns: c.columns, rows: c.table))
        case "average": return per { $0.zeroShot?.averageHeadline }
        case "retained": return per { c.retained($0) }
        case "speedup": return per { c.speedup($0) }
        case "parameters": return .record(Record(c.rows.map { ($0.name, .int($0.parameters)) }))
        case "figure": return c.figure.map { .host($0) } ?? Value.none
        default: return nil
        }
    }
    public func render(_ o: DisplayOptions) -> String {
        var s = Table(columns: comparison.columns, rows: comparison.table).render(o)
        if let f = comparison.figure { s += "\n" + f.render(o) }
        return s
    }
}

func compareBuiltin() -> BuiltinSpec {
    let taskNames = ["all"] + ZeroShotTask.allCases.map(\.rawValue)
    return BuiltinSpec("compare", [ParamSpec("models", .oneOf([.listOf(.host("model")), .record]),
                                             help: "a list of models (the first is the dense reference) or a record name → model"),
                                   ParamSpec("tasks", .oneOf([.string, .listOf(.string)]), default: .string("all"),
                                             completer: .choices(taskNames), help: "zero-shot tasks; [] for none"),
                                   ParamSpec("limit", .optional(.number), default: .none, help: "first N documents per task"),
                                   ParamSpec("ppl", .listOf(.string), default: .list([]), help: "perplexity data sets, e.g. [\"wiki2\", \"c4\"]"),
                                   ParamSpec("seqlen", .int, default: .int(2048)),
                                   ParamSpec("ppl_limit", .optional(.int), default: .none, help: "at most this many perplexity windows"),
                                   ParamSpec("latency", .bool, default: .bool(true), help: "measure prompt latency and generation speed"),
                                   ParamSpec("batch", .int, default: .int(8)),
                                   ParamSpec("data_dir", .optional(.string), default: .none)],
                       returns: .host("comparison"), effects: [.readsFiles], category: "engine",
                       help: "Models side by side: per-task zero-shot accuracy, the average and the share of the first\nmodel's average each retains, perplexities, parameters and the speedup (one interleaved\nlatency run). Shows a table; in a notebook also a grouped bar chart. Results are cached.") { a, ctx in
        var models: [(String, ModelObject)] = []
        switch a["models"] {
        case .list(let xs):
            for (k, x) in xs.enumerated() {
                guard case .host(let h) = x, let m = h as? ModelObject else {
                    throw ScriptError("`models` must hold models", id: "E0603", argument: "models")
                }
                models.append(("\(k): \(m.model.numLayers) layers", m))
            }
        case .record(let r):
            for key in r.keys {
                guard case .host(let h)? = r[key], let m = h as? ModelObject else {
                    throw ScriptError("`models.\(key)` is not a model", id: "E0603", argument: "models")
                }
                models.append((key, m))
            }
        default: throw ScriptError("`models` must be a list or record of models", id: "E0603", argument: "models")
        }
        guard !models.isEmpty else { throw ScriptError("`models` is empty", id: "E0603", argument: "models") }
        var s = ComparisonSettings()
        s.tasks = try taskList(a["tasks"], "tasks")
        s.limit = try a.optionalDouble("limit")
        s.ppl = try a.list("ppl").map { v -> String in
            guard case .string(let x) = v else { throw ScriptError("`ppl` must be a list of names", id: "E0603", argument: "ppl") }
            return x == "wiki2" || x == "wikitext2" || x == "c4" ? x : ctx.resolvePath(x)
        }
        s.seqlen = try a.int("seqlen")
        s.pplLimit = try a.optionalInt("ppl_limit")
        s.latency = try a.bool("latency")
        s.batch = try a.int("batch")
        s.dataDir = try a.optionalString("data_dir").map { URL(fileURLWithPath: ctx.resolvePath($0)) }
        for (_, m) in models { ctx.recordRead(m) }
        let flag = ctx
        let c = try engine {
            try Comparison.run(models.map { ($0.0, $0.1.model, $0.1.fingerprint ?? "") }, settings: s,
                               progress: { f, line in ctx.progress(f, line) },
                               shouldCancel: { [unowned flag] in flag.isCancelled })
        }
        for r in c.rows {
            if let z = r.zeroShot { ctx.recordResult("\(r.name).average", .float(z.averageHeadline)) }
        }
        return .host(ComparisonObject(c))
    }
}
