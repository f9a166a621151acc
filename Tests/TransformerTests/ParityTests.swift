// Forward-pass parity with HF transformers on the fixture checkpoints (fixtures README §1,
// §3): logits, every hidden state, raw layer outputs and both probes, padded batches,
// explicit positions, the loss and greedy generation.
import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

/// fp32 checkpoints: max |a − b| ≤ 1e-4 · max(1, max|ref|) (the issue's bound; the fixtures'
/// own float64 implementation lands within 4e-5 absolute).
func tolerance(_ ref: [Float], scale: Float = 1e-4) -> Float { scale * max(1, ref.reduce(0) { max($0, abs($1)) }) }

func loadFixtureModel(_ name: String) throws -> Model { try Model.load(Fixtures.model(name).path) }

func expectClose(_ got: [Float], _ ref: [Float], _ what: String, scale: Float = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == ref.count, "\(what): \(got.count) vs \(ref.count) values", sourceLocation: sourceLocation)
    guard got.count == ref.count else { return }
    let d = maxAbsDiff(got, ref), tol = tolerance(ref, scale: scale)
    #expect(d <= tol, "\(what): max abs diff \(d) > \(tol)", sourceLocation: sourceLocation)
}

/// Rows (b, t) with mask 1 only, of a [B, T, X] buffer.
func validRows(_ x: [Float], mask: [[Int]], width: Int) -> [Float] {
    var out: [Float] = []
    let T = mask[0].count
    for (b, row) in mask.enumerated() { for t in 0..<T where row[t] == 1 { out += x[((b * T + t) * width)..<((b * T + t + 1) * width)] } }
    return out
}

func ids2D(_ f: SafetensorsFile, _ name: String) throws -> [[Int]] {
    let flat = try f.int64s(name).map { Int($0) }
    let shape = f.info(name)!.shape
    return (0..<shape[0]).map { Array(flat[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
}

let fp32Models = ["llama", "llama_tied", "mistral", "qwen2", "qwen3", "opt", "llama_mha"]

@Test(arguments: fp32Models)
func batch1ParityWithAllProbes(name: String) throws {
    let m = try loadFixtureModel(name)
    let out = try SafetensorsFile(Fixtures.model(name).appendingPathComponent("outputs.safetensors"))
    let ids = try ids2D(out, "batch1.input_ids")
    let r = try m.forward(ids, options: ForwardOptions(hiddenStates: true, layerOutputs: true, downProjInputs: true, oProjInputs: true))
    expectClose(r.logits!.data, try out.tensor("batch1.logits").data, "\(name) logits")
    let hs = try out.tensor("batch1.hidden_states")
    #expect(r.hiddenStates!.count == hs.shape[0])
    let per = hs.count / hs.shape[0]
    for (i, h) in r.hiddenStates!.enumerated() {
        expectClose(h.data, Array(hs.data[(i * per)..<((i + 1) * per)]), "\(name) hidden_states[\(i)]")
    }
    let lo = try out.tensor("batch1.layer_outputs")
    for (i, h) in r.layerOutputs!.enumerated() { expectClose(h.data, Array(lo.data[(i * per)..<((i + 1) * per)]), "\(name) layer_outputs[\(i)]") }
    expectClose(r.lastLayerOutput.data, try out.tensor("batch1.last_layer_output").data, "\(name) last_layer_output")
    expectClose(r.finalNormOutput.data, try out.tensor("batch1.final_norm_output").data, "\(name) final_norm_output")
    for probe in ["down_proj_input", "o_proj_input"] {
        let ref = try out.tensor("batch1.\(probe)")
        let got = probe == "down_proj_input" ? r.downProjInputs! : r.oProjInputs!
        let n = ref.count / ref.shape[0]
        #expect(got.count == ref.shape[0])
        for (i, t) in got.enumerated() { expectClose(t.data, Array(ref.data[(i * n)..<((i + 1) * n)]), "\(name) \(probe)[\(i)]") }
    }
    let loss = try m.sequenceLoss(ids)
    let mean = loss.reduce(0, +) / Double(loss.count)   // both rows have T − 1 pairs: mean of means = mean of all
    let refLoss = Double(try out.tensor("batch1.loss").data[0])
    #expect(abs(mean - refLoss) < 1e-5, "\(name) loss \(mean) vs \(refLoss)")
    if m.config.usesRoPE {
        let inv = try out.tensor("rope.inv_freq").data
        #expect(maxAbsDiff(m.invFreq, inv) <= 1e-7 * inv.max()!, "\(name) inv_freq")
    }
}

@Test(arguments: fp32Models)
func paddedBatchParity(name: String) throws {
    let m = try loadFixtureModel(name)
    let out = try SafetensorsFile(Fixtures.model(name).appendingPathComponent("outputs.safetensors"))
    let ids = try ids2D(out, "batch2.input_ids"), mask = try ids2D(out, "batch2.attention_mask")
    let V = m.vocabSize, H = m.hiddenSize
    let r = try m.forward(ids, options: ForwardOptions(attentionMask: mask, hiddenStates: true))
    expectClose(validRows(r.logits!.data, mask: mask, width: V), validRows(try out.tensor("batch2.logits").data, mask: mask, width: V), "\(name) batch2 logits")
    expectClose(validRows(r.finalNormOutput.data, mask: mask, width: H), validRows(try out.tensor("batch2.final_norm_output").data, mask: mask, width: H), "\(name) batch2 final norm")
    let pos = try ids2D(out, "batch2_maskpos.position_ids")
    let r2 = try m.forward(ids, options: ForwardOptions(attentionMask: mask, positionIds: pos))
    expectClose(validRows(r2.logits!.data, mask: mask, width: V), validRows(try out.tensor("batch2_maskpos.logits").data, mask: mask, width: V), "\(name) batch2_maskpos logits")
}

@Test(arguments: fp32Models)
func greedyGenerationWithCacheMatches(name: String) throws {
    let m = try loadFixtureModel(name)
    let out = try SafetensorsFile(Fixtures.model(name).appendingPathComponent("outputs.safetensors"))
    let prompt = try out.int64s("generate.prompt_ids").map { Int($0) }
    let expected = try out.int64s("generate.new_ids").map { Int($0) }
    let got = try m.generate(prompt: prompt, options: SamplingOptions(maxNewTokens: expected.count, stopAtEOS: false))
    #expect(got == expected, "\(name) greedy ids")
    // The cached step logits equal the no-cache logits transformers stored.
    let steps = try out.tensor("generate.step_logits")
    let cache = KVCache(model: m)
    var logits = try m.step(prompt, cache: cache)
    let V = m.vocabSize
    for k in 0..<expected.count {
        expectClose(logits, Array(steps.data[(k * V)..<((k + 1) * V)]), "\(name) step \(k) logits")
        logits = try m.step([expected[k]], cache: cache)
    }
}

@Test(arguments: [("llama_bf16", Float(1e-4)), ("llama_f16", Float(1e-4)), ("llama_sharded", Float(1e-4))])
func storedDtypeVariants(name: String, scale: Float) throws {
    // bf16/f16 weights are upcast to fp32 on load and run in fp32, exactly as the fixtures
    // were made, so the fp32 tolerance applies; the sharded copy uses models/llama's outputs.
    let m = try loadFixtureModel(name)
    let outFolder = name == "llama_sharded" ? "llama" : name
    let out = try SafetensorsFile(Fixtures.model(outFolder).appendingPathComponent("outputs.safetensors"))
    let ids = try ids2D(out, "batch1.input_ids")
    let r = try m.forward(ids, options: ForwardOptions(hiddenStates: true))
    expectClose(r.logits!.data, try out.tensor("batch1.logits").data, "\(name) logits", scale: scale)
    expectClose(r.hiddenStates!.flatMap(\.data), try out.tensor("batch1.hidden_states").data, "\(name) hidden states", scale: scale)
    let loss = try m.sequenceLoss(ids)
    #expect(abs(loss.reduce(0, +) / 2 - Double(try out.tensor("batch1.loss").data[0])) < 1e-5)
}

@Test func layerEditingKeepsTheMergeTree() throws {
    var m = try loadFixtureModel("llama")
    try m.removeLayers([4])
    #expect(m.numLayers == 5)
    #expect(m.mergeTree.current.map(\.description) == ["0", "1", "2", "3", "5"])
    try m.replaceLayers([2, 3], with: m.layers[2])
    #expect(m.mergeTree.current.description == "[0, 1, [2, 3], 5]")
    #expect(m.namedTensors().contains { $0.name == "model.layers.3.mlp.down_proj.weight" })
    #expect(!m.namedTensors().contains { $0.name == "model.layers.4.mlp.down_proj.weight" })
    #expect(throws: ModelError.self) { try m.removeLayers([9]) }
}

@Test func hubNamesAreRefusedWithDirections() {
    do {
        _ = try Model.load("HuggingFaceTB/SmolLM2-135M")
        Issue.record("a hub name loaded")
    } catch {
        let s = "\(error)"
        #expect(s.contains("never downloads"))
        #expect(s.contains("local copy"))
    }
}

@Test func samplingIsSeededAndDegeneratesToGreedy() throws {
    let m = try loadFixtureModel("llama")
    let out = try SafetensorsFile(Fixtures.model("llama").appendingPathComponent("outputs.safetensors"))
    let prompt = try out.int64s("generate.prompt_ids").map { Int($0) }
    let greedy = try out.int64s("generate.new_ids").map { Int($0) }
    let opts = SamplingOptions(maxNewTokens: 16, temperature: 0.9, topK: 40, topP: 0.95, seed: 7, stopAtEOS: false)
    let a = try m.generate(prompt: prompt, options: opts)
    let b = try m.generate(prompt: prompt, options: opts)
    #expect(a == b)
    var other = opts; other.seed = 8
    #expect(try m.generate(prompt: prompt, options: other) != a)
    var top1 = opts; top1.topK = 1
    #expect(try m.generate(prompt: prompt, options: top1) == greedy)
    // A probability distribution over the vocabulary: every draw is a valid id among the top-k.
    var rng = SplitMix64(seed: 3)
    let logits: [Float] = [0, 5, 1, 4, -2]
    var seen = Set<Int>()
    for _ in 0..<200 { seen.insert(Model.sample(logits, options: SamplingOptions(temperature: 1, topK: 2), rng: &rng)) }
    #expect(seen == [1, 3])
}
