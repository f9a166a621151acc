// Hierarchical distillation on the llama fixture pruned 6 → 4 by concat_merge (CoMe with
// real scores): local distillation lowers every merged layer's loss and the held-out
// perplexity (fixed seed); the correspondence follows the merge tree; sequential mode and
// LoRA train; a run stopped at a checkpoint and resumed ends bit-identical to an
// uninterrupted one.
import Compression
import Distillation
import Evaluation
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

private func windows(_ m: Model, count: Int, length: Int, seed: UInt64) -> [[Int]] {
    var rng = SplitMix64(seed: seed)
    // Real text, so the teacher's states are meaningful: the fixture's own tokenizer on WikiText.
    let text = (try? String(contentsOf: Fixtures.url("data/wikitext-2-raw-v1/wiki.valid.raw"), encoding: .utf8)) ?? ""
    let ids = m.tokenizer?.encode(String(text.prefix(200_000)), addSpecialTokens: false) ?? []
    return (0..<count).map { _ in
        let s = Int(rng.next() % UInt64(max(1, ids.count - length)))
        return Array(ids[s..<(s + length)])
    }
}

private func pruned() throws -> (teacher: Model, student: Model) {
    let teacher = try Model.load(Fixtures.model("llama").path)
    var student = teacher
    let calib = CalibrationWindows(ids: windows(teacher, count: 4, length: 32, seed: 1))
    try CoMe.run(&student, windows: calib, options: CoMeOptions(targetLayers: 4))
    return (teacher, student)
}

@Test func correspondenceFollowsTheMergeTree() throws {
    let (teacher, student) = try pruned()
    #expect(student.numLayers == 4)
    let pairs = try Distiller.correspondence(student, teacherLayers: teacher.numLayers, allLayers: false)
    #expect(!pairs.isEmpty)
    for p in pairs {
        let leaves = student.mergeTree.current[p.position].leaves.sorted()
        #expect(leaves.count > 1 && p.first == leaves.first && p.last == leaves.last)
    }
    let all = try Distiller.correspondence(student, teacherLayers: teacher.numLayers, allLayers: true)
    #expect(all.count == 4)
}

/// Text the teacher itself writes (sampled at temperature 1): the fixture's weights are
/// random, so perplexity on real text says nothing, but on the teacher's own samples a
/// student closer to the teacher scores lower.
private func teacherSamples(_ m: Model, count: Int, length: Int, seed: UInt64) throws -> [[Int]] {
    try (0..<count).map { k in
        let prompt = [Int((seed &* 31 &+ UInt64(k)) % UInt64(m.vocabSize))]
        let out = try m.generate(prompt: prompt, options: SamplingOptions(maxNewTokens: length - 1, temperature: 1, seed: seed &+ UInt64(k), stopAtEOS: false))
        return prompt + out
    }
}

@Test func localDistillationLowersEveryMergedLayersLossAndThePerplexity() throws {
    let (teacher, student) = try pruned()
    let train = try teacherSamples(teacher, count: 8, length: 32, seed: 2), held = try teacherSamples(teacher, count: 8, length: 32, seed: 3)
    var o = DistillOptions()
    o.steps = 30; o.optimiser.lr = 3e-3; o.optimiser.warmupSteps = 3; o.loss = try DistillLoss(parse: "mse"); o.seed = 7
    let (model, report) = try Distiller.run(student: student, teacher: teacher, windows: train, heldOut: held, options: o)
    #expect(!report.layers.isEmpty)
    for l in report.layers {
        #expect(l.lossAfter < l.lossBefore * 0.9, "layer \(l.position): \(l.lossBefore) → \(l.lossAfter)")
        #expect(l.curve.count == 30)
    }
    let before = try #require(report.perplexityBefore), after = try #require(report.perplexityAfter)
    #expect(after < before, "perplexity \(before) → \(after)")
    // The report's perplexity is the model's.
    #expect(abs(try Perplexity.evaluate(model, windows: held).perplexity - after) < 1e-9 * after)
    #expect(model.mergeTree == student.mergeTree)
    // Only merged layers changed.
    for (k, node) in student.mergeTree.current.enumerated() where node.leaves.count == 1 {
        #expect(model.layers[k].q.weight.data == student.layers[k].q.weight.data)
    }
}

@Test func sequentialKLAndLoRATrain() throws {
    let (teacher, student) = try pruned()
    let train = windows(teacher, count: 4, length: 24, seed: 4)
    var o = DistillOptions()
    o.mode = .sequential; o.steps = 15; o.optimiser.lr = 5e-3; o.loss = try DistillLoss(parse: "kl+0.5*cosine", temperature: 2)
    o.trainable = .lora(rank: 4); o.microBatch = 2; o.accumulate = 2
    let (model, report) = try Distiller.run(student: student, teacher: teacher, windows: train, options: o)
    for l in report.layers { #expect(l.lossAfter < l.lossBefore, "layer \(l.position): \(l.lossBefore) → \(l.lossAfter)") }
    // LoRA changes weights (merged in) but not the norms.
    let k = report.layers[0].position
    #expect(model.layers[k].q.weight.data != student.layers[k].q.weight.data)
    #expect(model.layers[k].attentionNorm.weight.data == student.layers[k].attentionNorm.weight.data)
    var n = DistillOptions()
    n.steps = 5; n.trainable = .normsAndBiases; n.optimiser.lr = 1e-2
    let (normsOnly, _) = try Distiller.run(student: student, teacher: teacher, windows: train, options: n)
    #expect(normsOnly.layers[k].q.weight.data == student.layers[k].q.weight.data)
    #expect(normsOnly.layers[k].attentionNorm.weight.data != student.layers[k].attentionNorm.weight.data)
}

@Test func resumeFromACheckpointEqualsAnUninterruptedRun() throws {
    let (teacher, student) = try pruned()
    let train = windows(teacher, count: 5, length: 16, seed: 5)
    let dir = try Fixtures.temporaryDirectory("come-distill-ckpt")
    defer { try? FileManager.default.removeItem(at: dir) }
    var o = DistillOptions()
    o.steps = 8; o.optimiser.lr = 2e-3; o.seed = 3; o.checkpointEvery = 3; o.checkpointDirectory = dir
    let (full, fullReport) = try Distiller.run(student: student, teacher: teacher, windows: train, options: o)
    // Stop the second run after its first checkpoint of the second layer…
    let second = try Distiller.correspondence(student, teacherLayers: 6, allLayers: false).count > 1
    var stopAfter = second ? o.steps + 3 : 3
    var calls = 0
    let stop = StopFlag()
    #expect(throws: ForwardCancelled.self) {
        _ = try Distiller.run(student: student, teacher: teacher, windows: train, options: o, progress: { _ in
            calls += 1
            if calls == stopAfter { stop.set() }
        }, shouldCancel: { stop.isSet })
    }
    stopAfter = -1
    // …then resume: same weights and curves as the uninterrupted run.
    let (resumed, resumedReport) = try Distiller.run(student: student, teacher: teacher, windows: train, options: o, resume: true)
    for (a, b) in zip(full.namedTensors(), resumed.namedTensors()) { #expect(a.tensor.data == b.tensor.data, "\(a.name)") }
    #expect(fullReport.layers.map(\.curve) == resumedReport.layers.map(\.curve))
    // A checkpoint for other options is refused with the field named.
    var other = o
    other.optimiser.lr = 1e-3
    #expect(throws: DistillationError.self) { _ = try Distiller.run(student: student, teacher: teacher, windows: train, options: other, resume: true) }
}

final class StopFlag: @unchecked Sendable {
    private var v = false
    private let lock = NSLock()
    func set() { lock.lock(); v = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return v }
}

@Test func lossSpecsParse() throws {
    #expect(try DistillLoss(parse: "kl+0.5*mse").description == "kl+0.5*mse")
    #expect(throws: DistillationError.self) { try DistillLoss(parse: "kl+huber") }
    #expect(try Trainable(parse: "lora:8") == .lora(rank: 8))
    #expect(throws: DistillationError.self) { try Trainable(parse: "lora:0") }
}

@Test func globalStageLowersTheNextTokenKL() throws {
    let (teacher, student) = try pruned()
    let train = try teacherSamples(teacher, count: 4, length: 24, seed: 6)
    var o = DistillOptions()
    o.mode = .global; o.steps = 12; o.optimiser.lr = 3e-3; o.optimiser.warmupSteps = 2
    let (model, report) = try Distiller.run(student: student, teacher: teacher, windows: train, options: o)
    let g = try #require(report.layers.last)
    #expect(report.layers.count == 1 && g.position == -1)
    #expect(g.lossAfter < g.lossBefore * 0.95, "\(g.lossBefore) → \(g.lossAfter)")
    #expect(g.curve.count == 12)
    // The reported KL is the model's, measured independently from full logits.
    var kl = 0.0
    for w in train {
        let s = try model.forward([w]).logits!.data, t = try teacher.forward([w]).logits!.data
        let V = model.vocabSize
        for r in 0..<w.count {
            let ss = s[(r * V)..<((r + 1) * V)].map(Double.init), tt = t[(r * V)..<((r + 1) * V)].map(Double.init)
            let ms = ss.max()!, mt = tt.max()!
            let ls = log(ss.reduce(0) { $0 + exp($1 - ms) }) + ms, lt = log(tt.reduce(0) { $0 + exp($1 - mt) }) + mt
            for j in 0..<V { let p = exp(tt[j] - lt); kl += p * ((tt[j] - lt) - (ss[j] - ls)) }
        }
    }
    kl /= Double(train.count * train[0].count)
    #expect(abs(kl - g.lossAfter) < 1e-4 * max(1, kl), "\(kl) vs \(g.lossAfter)")
    // After local: the global stage follows the per-layer reports.
    var both = DistillOptions()
    both.steps = 5; both.globalSteps = 3
    let (_, r2) = try Distiller.run(student: student, teacher: teacher, windows: train, options: both)
    #expect(r2.layers.last?.position == -1 && r2.layers.count >= 2)
}

@Test func logitKLGradientMatchesFiniteDifferences() throws {
    let m = try Model.load(Fixtures.model("llama").path)
    let H = m.hiddenSize, rows = 3
    var rng = SplitMix64(seed: 11)
    func noise(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 500 } }
    let s = noise(rows * H), t = noise(rows * H)
    let (_, g) = m.logitKL(student: s, teacher: t, rows: rows, temperature: 2)
    for i in [0, 5, H + 7, 2 * H + 63] {
        var p = s, q = s
        let h: Float = 1e-2
        p[i] += h; q[i] -= h
        let fd = (m.logitKL(student: p, teacher: t, rows: rows, temperature: 2).loss - m.logitKL(student: q, teacher: t, rows: rows, temperature: 2).loss) / Double(2 * h)
        #expect(abs(fd - Double(g[i])) < 2e-3 * max(1e-2, abs(fd)) + 1e-5, "entry \(i): \(fd) vs \(g[i])")
    }
    let (_, student) = try pruned()
    let train = try teacherSamples(m, count: 4, length: 16, seed: 8)
    var o = DistillOptions()
    o.steps = 10; o.optimiser.lr = 3e-3; o.loss = try DistillLoss(parse: "kl-logits+0.1*mse")
    let (_, report) = try Distiller.run(student: student, teacher: m, windows: train, options: o)
    for l in report.layers { #expect(l.lossAfter < l.lossBefore, "layer \(l.position): \(l.lossBefore) → \(l.lossAfter)") }
}
