// The latency protocol's bookkeeping on the tiny llama fixture: seeded ids in the reference's
// range, the statistics of a set of repetitions, run counts with warm-ups, exact generation
// length, cancellation between runs, and the "delete layers 1…n" copy. No assertion on
// how fast anything is (STYLE: speed claims belong to scripts/bench-latency).
import Evaluation
import Foundation
import TestSupport
import Testing
import Transformer

@Test func randomIdsAreSeededAndInTheReferenceRange() {
    let a = Latency.randomIds(rows: 2, length: 300, vocab: 49_152, seed: 7)
    #expect(a.count == 2 && a.allSatisfy { $0.count == 300 })
    #expect(a == Latency.randomIds(rows: 2, length: 300, vocab: 49_152, seed: 7))
    #expect(a != Latency.randomIds(rows: 2, length: 300, vocab: 49_152, seed: 8))
    #expect(a.joined().allSatisfy { (0..<31_999).contains($0) })
    #expect(a.joined().max()! > 30_000)            // uniform over the whole range
    let small = Latency.randomIds(rows: 1, length: 1000, vocab: 512, seed: 1)[0]
    #expect(small.allSatisfy { (0..<512).contains($0) })
    #expect(Set(small).count > 400)
}

@Test func timingStatistics() {
    let t = Timing(seconds: [0.003, 0.001, 0.002, 0.010], tokens: 8)
    #expect(abs(t.medianMs - 2.5) < 1e-9)
    #expect(abs(t.minMs - 1) < 1e-9 && abs(t.maxMs - 10) < 1e-9)
    #expect(abs(t.meanMs - 4) < 1e-9)
    #expect(abs(t.tokensPerSecond - 3200) < 1e-6)
    let odd = Timing(seconds: [0.004, 0.002, 0.009], tokens: 1)
    #expect(abs(odd.medianMs - 4) < 1e-9)
    #expect(abs(Latency.speedup(Timing(seconds: [0.002], tokens: 1), odd) - 2) < 1e-9)
}

@Test func measureCountsRunsAndTokens() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    let o = LatencyOptions(batch: 2, promptLength: 16, promptReps: 3, generationPrompt: 4, newTokens: 5, generationReps: 2, warmup: 2)
    var seen: [(Int, Int)] = []
    let r = try Latency.measure(m, options: o, progress: { seen.append(($0, $1)) })
    let p = try #require(r.prompt), g = try #require(r.generation)
    #expect(p.seconds.count == 3 && p.tokens == 32)
    #expect(g.seconds.count == 2 && g.tokens == 5)
    for t in [p, g] {
        #expect(t.minMs <= t.medianMs && t.medianMs <= t.maxMs && t.minMs > 0)
        #expect(abs(t.tokensPerSecond - Double(t.tokens) / (t.medianMs / 1000)) < 1e-6 * t.tokensPerSecond)
    }
    // (3 + 2 warm-ups) prompt runs and (2 + 2) generate calls.
    #expect(seen.map(\.0) == Array(1...9) && seen.allSatisfy { $0.1 == 9 })
    let promptOnly = try Latency.measure(m, options: LatencyOptions(promptLength: 8, promptReps: 1, warmup: 0, measureGeneration: false))
    #expect(promptOnly.prompt != nil && promptOnly.generation == nil)
}

@Test func generationMakesExactlyTheRequestedTokens() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    let ids = Latency.randomIds(rows: 1, length: 6, vocab: m.vocabSize, seed: 3)[0]
    // EOS ignored: as many tokens as asked, and the same ones greedy decoding gives with EOS on
    // up to its first EOS.
    let out = try m.generate(prompt: ids, options: SamplingOptions(maxNewTokens: 40, stopAtEOS: false))
    #expect(out.count == 40)
    let stopping = try m.generate(prompt: ids, options: SamplingOptions(maxNewTokens: 40))
    #expect(Array(out.prefix(stopping.count)) == stopping)
}

@Test func comparisonInterleavesBothModels() throws {
    let dense = try Model.load(Fixtures.model("llama").path)
    let pruned = try Latency.pruneForSpeedup(dense, keepLayers: 2)
    #expect(pruned.numLayers == 2)
    // Layers 1…4 deleted: what is left is original layers 0 and 5.
    #expect(pruned.layers[0].q.weight == dense.layers[0].q.weight && pruned.layers[1].q.weight == dense.layers[5].q.weight)
    #expect(try Latency.pruneForSpeedup(dense, keepLayers: 6).numLayers == 6)
    #expect(throws: ModelError.self) { try Latency.pruneForSpeedup(dense, keepLayers: 0) }
    #expect(throws: ModelError.self) { try Latency.pruneForSpeedup(dense, keepLayers: 7) }

    let o = LatencyOptions(promptLength: 16, promptReps: 3, generationPrompt: 4, newTokens: 3, generationReps: 2, warmup: 1)
    var total = 0
    let c = try Latency.compare(pruned, dense: dense, options: o, progress: { total = $1 })
    #expect(total == 2 * (3 + 1) + 2 * (2 + 1))
    #expect(c.pruned.prompt?.seconds.count == 3 && c.dense.prompt?.seconds.count == 3)
    #expect(c.pruned.generation?.seconds.count == 2 && c.dense.generation?.seconds.count == 2)
    let s = try #require(c.promptSpeedup), gs = try #require(c.generationSpeedup)
    #expect(abs(s - c.dense.prompt!.medianMs / c.pruned.prompt!.medianMs) < 1e-12)
    #expect(abs(gs - c.dense.generation!.medianMs / c.pruned.generation!.medianMs) < 1e-12)
}

@Test func cancellationStopsBetweenRuns() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    var runs = 0
    #expect(throws: ForwardCancelled.self) {
        try Latency.measure(m, options: LatencyOptions(promptLength: 8, promptReps: 10, warmup: 0),
                            progress: { done, _ in runs = done }, shouldCancel: { runs >= 3 })
    }
    #expect(runs == 3)
    #expect(throws: ForwardCancelled.self) { try Latency.measure(m, shouldCancel: { true }) }
    #expect(throws: ModelError.self) { try Latency.measure(m, options: LatencyOptions(promptReps: 0)) }
    // 4096 × 2048 positions × 512 logits × 4 bytes = 16 GiB: refused before anything runs.
    #expect(throws: ModelError.self) { try Latency.measure(m, options: LatencyOptions(batch: 4096, promptLength: 2048)) }
    #expect(try Latency.measure(m, options: LatencyOptions(batch: 2, promptLength: 8, promptReps: 1, logits: .last, warmup: 0,
                                                           measureGeneration: false)).prompt?.tokens == 16)
}
