// `come distill`: hierarchical distillation of a pruned student against its teacher, with
// progress (loss, lr, tokens/s, ETA), optional checkpoints and --resume, perplexity on a
// held-out corpus before and after, and the distilled model saved as an HF checkpoint.
import ArgumentParser
import Compression
import Corpora
import Distillation
import Evaluation
import Foundation
import Transformer

struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distill",
        abstract: "Distil a merged/pruned student layer by layer against the original model (CoMe's third step).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The student: an HF folder written by `come prune` (it carries the merge tree).") var student: String
    @Argument(help: "The teacher: the original model (a .gguf, an HF folder, or `default`).") var teacher: String
    @Option(help: "Training data set (wiki2, c4, alpaca, ...), as calibration.") var data = "wiki2"
    @Option(help: "Training windows.") var nwindows = 8
    @Option(help: "Window length in tokens.") var seqlen = 256
    @Option(name: .customLong("data-seed"), help: "Seed of the training-window sampling.") var dataSeed = 10
    @Option(help: "local, sequential or global.") var mode = "local"
    @Option(name: .customLong("global-steps"), help: "After local/sequential: steps of end-to-end KL on next-token distributions.") var globalSteps = 0
    @Option(name: .customLong("global-tau"), help: "The global stage's temperature.") var globalTau = 1.0
    @Option(help: "mse, kl, kl-logits, cosine, or a weighted sum such as mse+0.1*kl.") var loss = "mse"
    @Option(help: "KL temperature.") var tau = 1.0
    @Option(help: "all, norms, or lora:R.") var trainable = "all"
    @Option(help: "Optimiser steps per layer.") var steps = 100
    @Option(help: "Peak learning rate.") var lr = 2e-4
    @Option(help: "Warm-up steps (then cosine decay).") var warmup = 10
    @Option(name: .customLong("weight-decay")) var weightDecay = 0.0
    @Option(help: "Global gradient-norm clip (0 = none).") var clip = 1.0
    @Option(name: .customLong("micro-batch"), help: "Windows per micro-batch.") var microBatch = 1
    @Option(help: "Micro-batches per step.") var accumulate = 1
    @Option(help: "Seed of the data order (and LoRA's initialisation).") var seed = 0
    @Flag(name: .customLong("all-layers"), help: "Train untouched layers too.") var allLayers = false
    @Option(name: .customLong("held-out"), help: "Perplexity before and after on this data set (none to skip).") var heldOut = "wiki2"
    @Option(name: .customLong("held-out-windows"), help: "Held-out windows (of --seqlen tokens).") var heldOutWindows = 32
    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint every N steps.") var checkpointEvery = 0
    @Option(name: .customLong("checkpoint-dir"), help: "Where checkpoints go (default: OUTPUT.ckpt).") var checkpointDir: String?
    @Flag(help: "Continue from the last checkpoint.") var resume = false
    @Option(name: .customLong("data-dir")) var dataDir: String?
    @Option(help: "Save the distilled model (HF folder) here.") var output: String?

    func run() throws {
        global.apply()
        let s = loadModel(student), t = loadModel(teacher)
        guard let tok = s.tokenizer else { fail(ModelError("\(s.source) has no tokenizer")) }
        var o = DistillOptions()
        do {
            guard let m = DistillMode(rawValue: mode) else { throw ValidationError("--mode must be local, sequential or global") }
            o.mode = m
            o.loss = try DistillLoss(parse: loss, temperature: tau)
            o.trainable = try Trainable(parse: trainable)
            o.steps = steps; o.microBatch = microBatch; o.accumulate = accumulate; o.seed = UInt64(seed); o.allLayers = allLayers
            o.optimiser.lr = lr; o.optimiser.warmupSteps = warmup; o.optimiser.weightDecay = weightDecay; o.optimiser.clipNorm = clip
            o.checkpointEvery = checkpointEvery
            o.globalSteps = globalSteps; o.globalTemperature = globalTau
            if let d = checkpointDir ?? output.map({ $0 + ".ckpt" }) { o.checkpointDirectory = URL(fileURLWithPath: d) }
            let dir = dataDir.map { URL(fileURLWithPath: $0) }
            let stream = try Calibration.stream(CalibrationRequest(dataset: try CalibrationDataset.named(data), amount: .windows(nwindows),
                                                                   seed: UInt64(dataSeed), seqlen: seqlen, dataDir: dir), tokenizer: tok)
            let windows = try stream.windows(seqlen: seqlen, limit: nwindows).ids
            var held: [[Int]]? = nil
            if heldOut != "none" {
                let (ids, _) = try PerplexityData.named(heldOut).tokens(tok, seqlen: seqlen, dataDir: dir)
                held = try Perplexity.windows(ids, seqlen: seqlen, limit: heldOutWindows)
            }
            FileHandle.standardError.write(Data("distilling \(s.numLayers) student layers against \(t.numLayers): \(windows.count) windows × \(seqlen) from \(stream.description)\n".utf8))
            let bar = ProgressReporter("distill", unit: "steps")
            var last = ""
            let (model, report) = try Distiller.run(student: s, teacher: t, windows: windows, heldOut: held, options: o, resume: resume) { p in
                let line = "layer \(p.layer)/\(p.layers)"
                if line != last { last = line; FileHandle.standardError.write(Data("\(line)\n".utf8)) }
                bar.update((p.layer - 1) * p.steps + p.step, p.layers * p.steps)
                if !bar.isTerminal && p.step % max(1, p.steps / 5) == 0 {
                    FileHandle.standardError.write(Data(String(format: "  step %d/%d loss %.6f lr %.2e %.0f tokens/s\n", p.step, p.steps, p.loss, p.lr, p.tokensPerSecond).utf8))
                }
            }
            print("| layer | originals | loss before | loss after |")
            print("| ----: | --------- | ----------: | ---------: |")
            for l in report.layers {
                let o = l.originals.map(String.init).joined(separator: "+")
                print((l.position < 0 ? "| global | " : String(format: "| %5d | ", l.position)) + o.padding(toLength: max(9, o.count), withPad: " ", startingAt: 0)
                      + String(format: " | %11.6f | %10.6f |", l.lossBefore, l.lossAfter))
            }
            if let b = report.perplexityBefore, let a = report.perplexityAfter {
                print(String(format: "perplexity (%@, %d × %d): %.4f → %.4f", heldOut, held?.count ?? 0, seqlen, b, a))
            }
            print(String(format: "%d tokens in %.1f s (%.0f tokens/s), peak memory %@", report.tokens, report.seconds, report.tokensPerSecond,
                         formatBytes(report.peakMemoryBytes)))
            if let out = output {
                try PruneJob.saveCheckpoint(model, to: URL(fileURLWithPath: out))
                print("saved \(out)")
            }
        } catch { fail(error) }
    }
}
