// Latency as reference-algorithms.md §2.4 measures it, scaled for a CPU: prompt processing
// (one forward of batch × length random ids, KV cache off) and generation (exactly N new
// tokens with the cache, EOS ignored), each after warm-up runs, R repetitions reported as
// median / min / max / mean; a dense and a pruned model measured in one run, interleaved.
import Foundation
import Tensors
import Transformer

public struct LatencyOptions: Sendable {
    /// Prompt processing: rows × tokens per forward.
    public var batch = 1
    public var promptLength = 256
    public var promptReps = 5
    /// The LM head over every position (.all) is what the reference's `model(input)` runs;
    /// .last times what a server needs before its first new token.
    public var logits: ForwardOptions.Logits = .all
    /// Generation (batch 1: `Model.generate` is batch 1): a prompt of this many random ids,
    /// then exactly `newTokens` greedy tokens.
    public var generationPrompt = 32
    public var newTokens = 32
    public var generationReps = 3
    /// Untimed runs of each measurement before the timed ones.
    public var warmup = 1
    /// Seeds the random ids (the reference's are unseeded; a seed makes runs comparable).
    public var seed: UInt64 = 0
    public var measurePrompt = true
    public var measureGeneration = true

    public init(batch: Int = 1, promptLength: Int = 256, promptReps: Int = 5, logits: ForwardOptions.Logits = .all,
                generationPrompt: Int = 32, newTokens: Int = 32, generationReps: Int = 3, warmup: Int = 1,
                seed: UInt64 = 0, measurePrompt: Bool = true, measureGeneration: Bool = true) {
        self.batch = batch; self.promptLength = promptLength; self.promptReps = promptReps; self.logits = logits
        self.generationPrompt = generationPrompt; self.newTokens = newTokens; self.generationReps = generationReps
        self.warmup = warmup; self.seed = seed; self.measurePrompt = measurePrompt; self.measureGeneration = measureGeneration
    }
}

/// The repetitions of one measurement: wall seconds per run and the tokens one run handles.
public struct Timing: Sendable, Equatable {
    public var seconds: [Double]
    /// Tokens per run: batch × prompt length, or the new tokens of one generate call.
    public var tokens: Int

    public init(seconds: [Double], tokens: Int) { self.seconds = seconds; self.tokens = tokens }

    public var medianMs: Double { Timing.median(seconds) * 1000 }
    public var minMs: Double { (seconds.min() ?? .nan) * 1000 }
    public var maxMs: Double { (seconds.max() ?? .nan) * 1000 }
    public var meanMs: Double { seconds.isEmpty ? .nan : seconds.reduce(0, +) / Double(seconds.count) * 1000 }
    /// Tokens per second at the median run.
    public var tokensPerSecond: Double { Double(tokens) / (medianMs / 1000) }

    static func median(_ x: [Double]) -> Double { Tensors.median(x) }
}

public struct LatencyResult: Sendable {
    public var prompt: Timing?
    public var generation: Timing?
}

/// A pruned model against its dense original, from one interleaved run.
public struct LatencyComparison: Sendable {
    public var pruned: LatencyResult
    public var dense: LatencyResult
    public var promptSpeedup: Double? { both(pruned.prompt, dense.prompt).map(Latency.speedup) }
    public var generationSpeedup: Double? { both(pruned.generation, dense.generation).map(Latency.speedup) }
}

private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

public enum Latency {
    /// dense median / pruned median: above 1 when the pruned model is faster.
    public static func speedup(_ pruned: Timing, _ dense: Timing) -> Double { dense.medianMs / pruned.medianMs }

    /// Ids drawn uniformly from [0, min(vocab, 31999)): the reference's range, capped for
    /// vocabularies smaller than Llama's.
    public static func randomIds(rows: Int, length: Int, vocab: Int, seed: UInt64) -> [[Int]] {
        var rng = SplitMix64(seed: seed)
        let upper = max(1, min(vocab, 31999))
        return (0..<rows).map { _ in (0..<length).map { _ in Int.random(in: 0..<upper, using: &rng) } }
    }

    /// Measures one model. `progress(done, total)` counts runs, warm-ups included;
    /// `shouldCancel` is checked between runs and stops with `ForwardCancelled`.
    public static func measure(_ m: Model, options: LatencyOptions = LatencyOptions(),
                               progress: ((Int, Int) -> Void)? = nil, shouldCancel: (() -> Bool)? = nil) throws -> LatencyResult {
        try compare([m], options: options, progress: progress, shouldCancel: shouldCancel)[0]
    }

    /// Measures `pruned` and `dense` in one run, their repetitions interleaved (the order
    /// alternating each repetition) so that drift in the machine's speed hits both.
    public static func compare(_ pruned: Model, dense: Model, options: LatencyOptions = LatencyOptions(),
                               progress: ((Int, Int) -> Void)? = nil, shouldCancel: (() -> Bool)? = nil) throws -> LatencyComparison {
        let r = try compare([pruned, dense], options: options, progress: progress, shouldCancel: shouldCancel)
        return LatencyComparison(pruned: r[0], dense: r[1])
    }

    public static func compare(_ models: [Model], options o: LatencyOptions,
                        progress: ((Int, Int) -> Void)?, shouldCancel: (() -> Bool)?) throws -> [LatencyResult] {
        guard o.batch > 0, o.promptLength > 0, o.generationPrompt > 0, o.newTokens > 0, o.promptReps > 0, o.generationReps > 0,
              o.warmup >= 0 else {
            throw ModelError("latency: batch, lengths, token counts and repetitions must be positive (warm-up at least 0)")
        }
        let vocab = models.map(\.vocabSize).min() ?? 1
        let logitBytes = 4 * o.batch * o.promptLength * (models.map(\.vocabSize).max() ?? 1)
        if o.measurePrompt && o.logits == .all && logitBytes > 4 << 30 {
            throw ModelError("latency: logits over every position of \(o.batch)×\(o.promptLength) tokens take \(formatBytes(logitBytes)); time the last position only (logits \"last\") or use a smaller batch")
        }
        let promptIds = randomIds(rows: o.batch, length: o.promptLength, vocab: vocab, seed: o.seed)
        let genIds = randomIds(rows: 1, length: o.generationPrompt, vocab: vocab, seed: o.seed &+ 1)[0]
        let sampling = SamplingOptions(maxNewTokens: o.newTokens, stopAtEOS: false)

        func runPrompt(_ m: Model) throws {
            _ = try m.forward(promptIds, options: ForwardOptions(logits: o.logits))
        }
        func runGeneration(_ m: Model) throws {
            let out = try m.generate(prompt: genIds, options: sampling)
            guard out.count == o.newTokens else { throw ModelError("latency: generate returned \(out.count) tokens, not \(o.newTokens)") }
        }

        var steps: [(reps: Int, run: (Model) throws -> Void, tokens: Int, isPrompt: Bool)] = []
        if o.measurePrompt { steps.append((o.promptReps, runPrompt, o.batch * o.promptLength, true)) }
        if o.measureGeneration { steps.append((o.generationReps, runGeneration, o.newTokens, false)) }
        let total = steps.reduce(0) { $0 + ($1.reps + o.warmup) * models.count }
        var done = 0
        func tick() throws {
            done += 1
            progress?(done, total)
            if let c = shouldCancel, c() { throw ForwardCancelled() }
        }
        if let c = shouldCancel, c() { throw ForwardCancelled() }

        var results = models.map { _ in LatencyResult() }
        for step in steps {
            for m in models {
                for _ in 0..<o.warmup { try step.run(m); try tick() }
            }
            var seconds = models.map { _ in [Double]() }
            for rep in 0..<step.reps {
                let order = rep % 2 == 0 ? Array(models.indices) : Array(models.indices.reversed())
                for k in order {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try step.run(models[k])
                    seconds[k].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    try tick()
                }
            }
            for k in models.indices {
                let t = Timing(seconds: seconds[k], tokens: step.tokens)
                if step.isPrompt { results[k].prompt = t } else { results[k].generation = t }
            }
        }
        return results
    }

    /// A copy with layers 1…n deleted, n = L − keep: the reference's quick "pruned" model
    /// for a speedup figure (only the count matters, not which layers).
    public static func pruneForSpeedup(_ m: Model, keepLayers keep: Int) throws -> Model {
        let L = m.numLayers
        guard keep >= 1, keep <= L else { throw ModelError("latency: cannot keep \(keep) of \(L) layers (1...\(L))") }
        var p = m
        if keep < L { try p.removeLayers(Array(1...(L - keep))) }
        return p
    }
}
