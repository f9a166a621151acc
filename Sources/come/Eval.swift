// `come eval`: lm-eval's zero-shot tasks on a model, printed as lm-eval's table, with the
// results JSON in its layout (--output), wall time and requests/s.
import ArgumentParser
import Checkpoints
import Corpora
import Evaluation
import Foundation
import Transformer
import Workbench

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot accuracy (piqa, hellaswag, winogrande, arc_easy, arc_challenge, boolq, openbookqa) as lm-evaluation-harness scores it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Models: .gguf files, HF checkpoint folders, or `default`. With several (or --compare) the first is the dense reference of a comparison.")
    var paths: [String]
    @Option(help: "all, or a comma-separated list of tasks.") var tasks = "all"
    @Option(help: "The first N documents of each task (below 1: a fraction), as lm-eval's --limit.") var limit: Double?
    @Option(help: "Rows per forward pass.") var batch = 8
    @Flag(help: "Add the tokenizer's special tokens (lm-eval's add_bos_token=True).") var bos = false
    @Option(name: .customLong("data-dir"), help: "Folder laid out like ../shared/data (default: ../shared/data or COME_DATA).") var dataDir: String?
    @Option(help: "Write the results JSON (lm-eval's layout) here (one model).") var output: String?
    @Flag(help: "Compare the models: accuracy, average, retained share, perplexity, parameters, speedup.") var compare = false
    @Option(help: "Comparison: perplexity data sets, comma-separated (wiki2, c4 or files).") var ppl: String?
    @Option(help: "Comparison: perplexity window length.") var seqlen = 2048
    @Option(name: .customLong("ppl-limit"), help: "Comparison: at most this many perplexity windows.") var pplLimit: Int?
    @Flag(name: .customLong("no-latency"), help: "Comparison: skip the latency run.") var noLatency = false
    @Option(help: "Comparison: write the grouped bar chart (SVG) here.") var figure: String?

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
        _ = try ZeroShotTask.parse(tasks)
    }

    func run() throws {
        global.apply()
        let chosen = try ZeroShotTask.parse(tasks)
        if compare || paths.count > 1 { return runComparison(chosen) }
        let m = loadModel(paths[0])
        let dir = dataDir.map { URL(fileURLWithPath: $0) }
        var results: [ZeroShotTaskResult] = []
        let t0 = Date()
        do {
            for task in chosen {
                let bar = ProgressReporter(task.rawValue, unit: "rows")
                let r = try ZeroShot.run(m, task: task, limit: limit, batch: batch, addSpecialTokens: bos, dataDir: dir) { bar.update($0, $1) }
                FileHandle.standardError.write(Data(String(format: "%@: %d documents, %d requests (%d rows, %d tokens) in %.1fs, %.1f requests/s\n",
                                                           task.rawValue, r.documents, r.requests, r.rows, r.tokens, r.seconds, r.requestsPerSecond).utf8))
                results.append(r)
            }
        } catch { fail(error) }
        let report = ZeroShotReport(model: m.source, results: results, limit: limit, batch: batch)
        print(report.markdown())
        let wall = Date().timeIntervalSince(t0)
        print(String(format: "%d requests in %.1f s wall (%.1f requests/s)", report.requests, wall, Double(report.requests) / wall))
        if let out = output { writeAtomically(report.json(), to: out) }
    }

    func writeAtomically(_ text: String, to out: String) {
        do { try AtomicFile.write(URL(fileURLWithPath: out), data: Data(text.utf8)) } catch {
            fail(ModelError("cannot write \(out): \(error)"))
        }
    }

    func runComparison(_ chosen: [ZeroShotTask]) {
        var s = ComparisonSettings()
        s.tasks = chosen; s.limit = limit; s.batch = batch; s.bos = bos
        s.dataDir = dataDir.map { URL(fileURLWithPath: $0) }
        s.ppl = (ppl ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        s.seqlen = seqlen; s.pplLimit = pplLimit; s.latency = !noLatency
        let models = paths.map { p -> (String, Model, String) in
            let m = loadModel(p)
            return (p, m, ModelObject(m).fingerprint ?? "")
        }
        var bars: [String: ProgressReporter] = [:]
        do {
            let c = try Comparison.run(models, settings: s, progress: { f, phase in
                let bar = bars[phase] ?? ProgressReporter(phase, unit: "%")
                bars[phase] = bar
                if let f = f { bar.update(Int((f * 100).rounded()), 100) }
            })
            print(c.markdown())
            if let path = figure, let f = c.figure { writeAtomically(f.svg, to: path) }
        } catch { fail(error) }
    }
}
