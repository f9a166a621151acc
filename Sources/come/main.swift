// The come command line: info, generate and ppl on a model (a GGUF file, an HF folder or
// `default`); the REPL, scripts and `prune` register here as they arrive.
import ArgumentParser
import Corpora
import Evaluation
import Foundation
import Tensors
import Transformer

struct GlobalOptions: ParsableArguments {
    @Option(help: "Threads for BLAS and parallel loops (default: COME_THREADS or all cores).")
    var threads: Int?

    func apply() {
        if let t = threads { Threads.set(t) } else { _ = Threads.count }
    }
}

func fail(_ error: Error) -> Never {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

func loadModel(_ spec: String) -> Model {
    let t0 = Date()
    do {
        let m = try Model.load(spec)
        FileHandle.standardError.write(Data(String(format: "loaded %@ in %.2fs\n", m.source, Date().timeIntervalSince(t0)).utf8))
        return m
    } catch { fail(error) }
}

struct Come: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "come",
        abstract: "A workbench for compressing LLMs by removing and merging transformer layers (CoMe and its baselines).",
        subcommands: [Run.self, Check.self, ReplayCommand.self, Log2Script.self, Info.self, Generate.self, PPL.self, Eval.self, DistillCommand.self, Prune.self, Params.self, LatencyCommand.self, BenchForward.self])
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model: architecture, layers, heads, sizes, parameters, dtype, tokenizer.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A .gguf file, an HF checkpoint folder, or `default`.") var path: String
    func run() throws {
        global.apply()
        print(loadModel(path).summary)
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt (greedy unless --temperature > 0), streaming the tokens.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A .gguf file, an HF checkpoint folder, or `default`.") var path: String
    @Argument(help: "The prompt text.") var prompt: String
    @Option(name: .customLong("max-tokens"), help: "New tokens at most.") var maxTokens = 32
    @Option(help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = all).") var topK = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass.") var topP: Float = 1
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Flag(help: "Wrap the prompt in the model's chat template (ChatML for SmolLM2).") var chat = false

    func run() throws {
        global.apply()
        let m = loadModel(path)
        guard let tok = m.tokenizer else { fail(ModelError("\(m.source) has no tokenizer")) }
        let text = chat ? "<|im_start|>user\n\(prompt)<|im_end|>\n<|im_start|>assistant\n" : prompt
        let ids = tok.encode(text)
        print(prompt, terminator: "")
        fflush(stdout)
        let t0 = Date()
        var shown = ""
        var all: [Int] = []
        let out = try m.generate(prompt: ids, options: SamplingOptions(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, seed: seed)) { id in
            all.append(id)
            let s = tok.decode(all, skipSpecialTokens: true)
            if s.hasPrefix(shown) && !s.hasSuffix("\u{FFFD}") {
                print(s.dropFirst(shown.count), terminator: "")
                fflush(stdout)
                shown = s
            }
            return true
        }
        let final = tok.decode(out, skipSpecialTokens: true)
        if final.count > shown.count { print(final.dropFirst(shown.count), terminator: "") }
        print("")
        let dt = Date().timeIntervalSince(t0)
        FileHandle.standardError.write(Data(String(format: "%d prompt + %d new tokens in %.2fs (%.1f tokens/s)\n", ids.count, out.count, dt, Double(out.count) / dt).utf8))
    }
}

struct PPL: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ppl", abstract: "Perplexity over non-overlapping windows (the pruning papers' protocol).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "A .gguf file, an HF checkpoint folder, or `default`.") var path: String
    @Option(help: "wiki2, c4, or a text / .raw / .jsonl(.gz) file.") var data = "wiki2"
    @Option(help: "Window length in tokens.") var seqlen = 2048
    @Option(help: "Evaluate at most this many windows.") var limit: Int?
    @Option(help: "Windows per forward pass.") var batch = 1
    @Option(name: .customLong("data-dir"), help: "Folder holding wikitext-2-raw-v1/ and c4/ (default ../shared/data).") var dataDir: String?

    func run() throws {
        global.apply()
        let m = loadModel(path)
        guard let tok = m.tokenizer else { fail(ModelError("\(m.source) has no tokenizer")) }
        do {
            let t0 = Date()
            let (ids, source) = try PerplexityData.named(data).tokens(tok, seqlen: seqlen, dataDir: dataDir.map { URL(fileURLWithPath: $0) })
            FileHandle.standardError.write(Data(String(format: "%@: %d tokens (tokenised in %.2fs)\n", source, ids.count, Date().timeIntervalSince(t0)).utf8))
            let windows = try Perplexity.windows(ids, seqlen: seqlen, limit: limit)
            let bar = ProgressReporter("ppl", unit: "windows")
            let r = try Perplexity.evaluate(m, windows: windows, batch: batch) { bar.update($0, $1) }
            print(String(format: "%@  seqlen %d  windows %d  mean NLL %.6f  perplexity %.4f  (%.0f tokens/s)",
                         data, seqlen, windows.count, r.meanLoss, r.perplexity, r.tokensPerSecond))
        } catch { fail(error) }
    }
}

setvbuf(stdout, nil, _IOLBF, 0)  // line by line even into a pipe: tables and progress stay in step
_ = dispatchScripting(Array(CommandLine.arguments.dropFirst()))
Come.main()
