// `come eval`: lm-eval's zero-shot tasks on a model, printed as lm-eval's table, with the
// results JSON in its layout (--output), wall time and requests/s.
import ArgumentParser
import Corpora
import Evaluation
import Foundation
import Transformer

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot accuracy (piqa, hellaswag, winogrande, arc_easy, arc_challenge, boolq, openbookqa) as lm-evaluation-harness scores it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A .gguf file, an HF checkpoint folder, or `default`.") var path: String
    @Option(help: "all, or a comma-separated list of tasks.") var tasks = "all"
    @Option(help: "The first N documents of each task (below 1: a fraction), as lm-eval's --limit.") var limit: Double?
    @Option(help: "Rows per forward pass.") var batch = 8
    @Flag(help: "Add the tokenizer's special tokens (lm-eval's add_bos_token=True).") var bos = false
    @Option(name: .customLong("data-dir"), help: "Folder laid out like ../shared/data (default: ../shared/data or COME_DATA).") var dataDir: String?
    @Option(help: "Write the results JSON (lm-eval's layout) here.") var output: String?

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
        _ = try ZeroShotTask.parse(tasks)
    }

    func run() throws {
        global.apply()
        let chosen = try ZeroShotTask.parse(tasks)
        let m = loadModel(path)
        let dir = dataDir.map { URL(fileURLWithPath: $0) }
        var results: [ZeroShotTaskResult] = []
        let t0 = Date()
        do {
            for task in chosen {
                let all = try task.documents(dataDir: dir)
                let docs = Array(all.prefix(ZeroShot.limited(all.count, limit: limit)))
                let bar = ProgressReporter(task.rawValue, unit: "rows")
                let r = try ZeroShot.evaluate(m, task: task, documents: docs, available: all.count, batch: batch,
                                              addSpecialTokens: bos) { bar.update($0, $1) }
                FileHandle.standardError.write(Data(String(format: "%@: %d documents, %d requests (%d rows, %d tokens) in %.1fs, %.1f requests/s\n",
                                                           task.rawValue, r.documents, r.requests, r.rows, r.tokens, r.seconds, r.requestsPerSecond).utf8))
                results.append(r)
            }
        } catch { fail(error) }
        let report = ZeroShotReport(model: m.source, results: results, limit: limit, batch: batch)
        print(report.markdown())
        let wall = Date().timeIntervalSince(t0)
        print(String(format: "%d requests in %.1f s wall (%.1f requests/s)", report.requests, wall, Double(report.requests) / wall))
        if let out = output {
            do {
                let url = URL(fileURLWithPath: out)
                let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
                try Data(report.json().utf8).write(to: tmp)
                _ = try? FileManager.default.removeItem(at: url)
                try FileManager.default.moveItem(at: tmp, to: url)
            } catch { fail(ModelError("cannot write \(out): \(error.localizedDescription)")) }
        }
    }
}
