// Zero-shot evaluation as builtins: `zeroshot` runs lm-eval's seven multiple-choice tasks
// (results cached per model fingerprint and task settings for the life of the process, so
// a REPL session does not recompute them) and returns a report that shows as lm-eval's
// table and carries its results JSON.
import Corpora
import Evaluation
import Foundation
import Script
import Transformer

/// The result of `zeroshot`: per-task acc / acc_norm with standard errors.
public final class ZeroShotObject: FigureCarrying {
    public let report: ZeroShotReport
    init(_ r: ZeroShotReport) { report = r }
    public var typeName: String { "zeroshot" }
    public var summary: String {
        "<zeroshot \(report.results.map(\.task.rawValue).joined(separator: ", ")): average \(String(format: "%.4f", report.averageHeadline))>"
    }
    public var fieldNames: [String] { ["tasks", "acc", "acc_norm", "acc_stderr", "acc_norm_stderr", "average", "average_acc", "documents", "requests", "seconds", "requests_per_s", "json", "table"] }
    public func field(_ n: String) -> Value? {
        let rs = report.results
        func per(_ f: (ZeroShotTaskResult) -> Double?) -> Value {
            .record(Record(rs.compactMap { r in f(r).map { (r.task.rawValue, .float($0)) } }))
        }
        switch n {
        case "tasks": return .list(rs.map { .string($0.task.rawValue) })
        case "acc": return per { $0.acc }
        case "acc_norm": return per { $0.accNorm }
        case "acc_stderr": return per { $0.accStderr }
        case "acc_norm_stderr": return per { $0.accNormStderr }
        case "average": return .float(report.averageHeadline)
        case "average_acc": return .float(report.averageAcc)
        case "documents": return .record(Record(rs.map { ($0.task.rawValue, .int($0.documents)) }))
        case "requests": return .int(report.requests)
        case "seconds": return .float(report.seconds)
        case "requests_per_s": return .float(Double(report.requests) / max(report.seconds, 1e-9))
        case "json": return .string(report.json())
        case "table": return .string(report.markdown())
        default: return nil
        }
    }
    /// Headline accuracy per task (acc_norm where reported, else acc).
    public var figures: [Figure] {
        let rs = report.results
        return [Figure(kind: .bar, values: rs.map { $0.accNorm ?? $0.acc }, labels: rs.map(\.task.rawValue),
                       title: "zero-shot accuracy (acc_norm where reported, else acc)")]
    }
    public func render(_ o: DisplayOptions) -> String {
        report.markdown() + "\n" + String(format: "%d requests in %.1f s (%.1f requests/s)", report.requests, report.seconds,
                                           Double(report.requests) / max(report.seconds, 1e-9))
    }
}

/// Runs (or takes from the cache) each task for a model; shared by `zeroshot` and `compare`.
func runZeroShot(_ m: ModelObject, tasks: [ZeroShotTask], limit: Double?, batch: Int, bos: Bool, dataDir: URL?,
                 ctx: CallContext) throws -> ZeroShotReport {
    var s = ComparisonSettings()
    s.limit = limit; s.batch = batch; s.bos = bos; s.dataDir = dataDir
    let fp = m.fingerprint ?? ""
    let flag = ctx
    var results: [ZeroShotTaskResult] = []
    for task in tasks {
        results.append(try engine("tasks") {
            try EvaluationCache.zeroShot(m.model, fingerprint: fp, task: task, settings: s, progress: { done, total in
                ctx.progress(Double(done) / Double(total), "\(task.rawValue) \(done)/\(total) rows")
            }, shouldCancel: { [unowned flag] in flag.isCancelled })
        })
    }
    return ZeroShotReport(model: m.model.source, results: results, limit: limit, batch: batch)
}

func taskList(_ v: Value, _ arg: String) throws -> [ZeroShotTask] {
    let spec: String
    switch v {
    case .string(let s): spec = s
    case .list(let xs):
        if xs.isEmpty { return [] }
        spec = try xs.map { x -> String in
            if case .string(let s) = x { return s }
            throw ScriptError("`\(arg)` must be a task name, \"all\", or a list of names", id: "E0603", argument: arg)
        }.joined(separator: ",")
    default: throw ScriptError("`\(arg)` must be a task name, \"all\", or a list of names", id: "E0603", argument: arg)
    }
    return try engine(arg) { try ZeroShotTask.parse(spec) }
}

public func evalBuiltins() -> [BuiltinSpec] {
    let modelType = ValueType.host("model")
    let taskNames = ["all"] + ZeroShotTask.allCases.map(\.rawValue)
    return [
        BuiltinSpec("zeroshot", [ParamSpec("m", modelType, completer: .variables(ofType: "model")),
                                 ParamSpec("tasks", .oneOf([.string, .listOf(.string)]), default: .string("all"),
                                           completer: .choices(taskNames),
                                           help: "\"all\", a name, a comma-separated string or a list of names"),
                                 ParamSpec("limit", .optional(.number), default: .none,
                                           help: "first N documents of each task (lm-eval's --limit; below 1 a fraction)"),
                                 ParamSpec("batch", .int, default: .int(8), help: "rows per forward pass"),
                                 ParamSpec("bos", .bool, default: .bool(false),
                                           help: "add the tokenizer's special tokens (lm-eval's add_bos_token)"),
                                 ParamSpec("data_dir", .optional(.string), default: .none,
                                           help: "a folder laid out like ../shared/data")],
                    returns: .host("zeroshot"), effects: [.readsFiles], category: "engine",
                    help: "Zero-shot multiple-choice accuracy as lm-evaluation-harness scores it (0-shot templates,\nacc and acc_norm with standard errors) on piqa, hellaswag, winogrande, arc_easy,\narc_challenge, boolq and openbookqa. Results are cached per model and settings.") { a, ctx in
            let m = try modelArg(a)
            guard m.model.tokenizer != nil else { throw ScriptError("the model has no tokenizer", id: "E0601", argument: "m") }
            let tasks = try taskList(a["tasks"], "tasks")
            let batch = try a.int("batch")
            guard batch >= 1 else { throw ScriptError("batch must be at least 1", id: "E0603", argument: "batch") }
            let limit = try a.optionalDouble("limit")
            if let l = limit, l <= 0 { throw ScriptError("limit must be positive", id: "E0603", argument: "limit") }
            let dir = try a.optionalString("data_dir").map { URL(fileURLWithPath: ctx.resolvePath($0)) }
            ctx.recordRead(m)
            let report = try runZeroShot(m, tasks: tasks, limit: limit, batch: batch, bos: try a.bool("bos"), dataDir: dir, ctx: ctx)
            for r in report.results {
                ctx.recordResult("\(r.task.rawValue).acc", .float(r.acc))
                if let n = r.accNorm { ctx.recordResult("\(r.task.rawValue).acc_norm", .float(n)) }
            }
            return .host(ZeroShotObject(report))
        },
        compareBuiltin(),
    ]
}
