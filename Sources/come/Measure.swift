// `come params` and `come latency`: the size and speed tables of the `params` and `latency`
// builtins from the command line; `--prune-to N` makes the reference's quick pruned copy
// (layers 1…L−N deleted, reference-algorithms.md §2.4) to measure a speedup against.
import ArgumentParser
import Evaluation
import Foundation
import Script
import Transformer
import Workbench

struct Params: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parameter counts by component, bytes at fp32 / bf16, and the ratio to a reference model.")
    @OptionGroup var global: GlobalOptions
    @ArgumentParser.Argument(help: "A .gguf file, an HF checkpoint folder, or `default`.") var path: String
    @Option(help: "A reference model (the dense original): adds the ratio and the fraction removed.") var against: String?

    func run() throws {
        global.apply()
        let m = loadModel(path)
        let reference = against.map { ParameterReport(loadModel($0)) }
        print(ParamsObject(ParameterReport(m), reference: reference, source: m.source).render(DisplayOptions(terminal: isatty(1) != 0)))
    }
}

struct LatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Prompt-processing latency and generation throughput; with --against or --prune-to, the speedup over a dense model.")
    @OptionGroup var global: GlobalOptions
    @ArgumentParser.Argument(help: "A .gguf file, an HF checkpoint folder, or `default`.") var path: String
    @Option(help: "The dense model MODEL is compared with (measured in the same run, interleaved).") var against: String?
    @Option(name: .customLong("prune-to"), help: "Compare MODEL with a copy of itself keeping N layers (layers 1…L−N deleted).") var pruneTo: Int?
    @Option(help: "Prompt rows per forward.") var batch = 1
    @Option(help: "Prompt tokens per row (0 skips the prompt timing).") var prompt = 256
    @Option(name: .customLong("prompt-reps"), help: "Timed prompt forwards.") var promptReps = 5
    @Option(help: "\"all\" (the LM head over every position, as the reference) or \"last\".") var logits = "all"
    @Option(name: .customLong("gen-prompt"), help: "Prompt tokens before generating.") var genPrompt = 32
    @Option(help: "New tokens per generate call (0 skips generation).") var generate = 32
    @Option(name: .customLong("gen-reps"), help: "Timed generate calls.") var genReps = 3
    @Option(help: "Untimed runs before each measurement.") var warmup = 1
    @Option(help: "Seed of the random token ids.") var seed: UInt64 = 0

    func validate() throws {
        if against != nil && pruneTo != nil { throw ValidationError("give --against or --prune-to, not both") }
        if prompt <= 0 && generate <= 0 { throw ValidationError("--prompt and --generate are both 0: nothing to time") }
        if !["all", "last"].contains(logits) { throw ValidationError("--logits must be all or last") }
    }

    func run() throws {
        global.apply()
        let m = loadModel(path)
        var o = LatencyOptions(batch: batch, promptLength: max(prompt, 1), promptReps: promptReps, logits: logits == "last" ? .last : .all,
                               generationPrompt: genPrompt, newTokens: max(generate, 1), generationReps: genReps, warmup: warmup, seed: seed)
        o.measurePrompt = prompt > 0
        o.measureGeneration = generate > 0
        let bar = ProgressReporter("latency", unit: "runs")
        let obj: LatencyObject
        do {
            if let keep = pruneTo {
                let pruned = try Latency.pruneForSpeedup(m, keepLayers: keep)
                let c = ParameterReport(pruned).compressionRatio(against: ParameterReport(m))
                print(keep < m.numLayers ? "pruned copy: layers 1–\(m.numLayers - keep) of \(m.numLayers) deleted" : "pruned copy: no layer deleted",
                      String(format: "(%d of %d parameters, %.2f %% removed)", c.compressed, c.reference, c.removed * 100))
                let r = try Latency.compare(pruned, dense: m, options: o, progress: { bar.update($0, $1) })
                obj = LatencyObject(r.pruned, against: r.dense, options: o, layers: pruned.numLayers, againstLayers: m.numLayers)
            } else if let a = against {
                let dense = loadModel(a)
                let c = try Latency.compare(m, dense: dense, options: o, progress: { bar.update($0, $1) })
                obj = LatencyObject(c.pruned, against: c.dense, options: o, layers: m.numLayers, againstLayers: dense.numLayers)
            } else {
                obj = LatencyObject(try Latency.measure(m, options: o, progress: { bar.update($0, $1) }), options: o, layers: m.numLayers)
            }
        } catch { fail(error) }
        print(obj.render(DisplayOptions(terminal: isatty(1) != 0)))
    }
}
