// End to end through GGUF with known answers: the fixture HF checkpoints are written as
// GGUF files the way llama.cpp's converter lays them out (llama.cpp names, ne reversed,
// llama's Q/K rows permuted per README §4, weights and biases), then loaded back through
// CheckpointLoader and compared with the HF tensors and config bit for bit.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

@Suite struct GGUFFromHFTests {
    /// The converter's permute, written out from README §4 (not via GGUFNames):
    /// GGUF row h·hd + 2i + j = HF row h·hd + j·hd/2 + i.
    func converterPermute(_ t: Tensor, heads: Int) -> Tensor {
        let out = t.shape[0], cols = t.count / out, hd = out / heads
        var d = [Float](repeating: 0, count: t.count)
        for h in 0..<heads {
            for i in 0..<(hd / 2) {
                for j in 0..<2 {
                    let g = h * hd + 2 * i + j, f = h * hd + j * (hd / 2) + i
                    for c in 0..<cols { d[g * cols + c] = t.data[f * cols + c] }
                }
            }
        }
        return Tensor(shape: t.shape, data: d)
    }

    func ggufFile(from hf: LoadedCheckpoint, arch: String, permute: Bool, extraKV: [(String, GGUFValue)] = [],
                  extraTensors: [(String, Tensor)] = [], to url: URL) throws {
        let c = hf.config
        var b = GGUFBuilder()
        b.kvs = [
            ("general.architecture", .string(arch)),
            ("\(arch).block_count", .uint32(UInt32(c.numLayers))),
            ("\(arch).context_length", .uint32(UInt32(c.maxPositionEmbeddings))),
            ("\(arch).embedding_length", .uint32(UInt32(c.hiddenSize))),
            ("\(arch).feed_forward_length", .uint32(UInt32(c.intermediateSize))),
            ("\(arch).attention.head_count", .uint32(UInt32(c.numHeads))),
            ("\(arch).attention.head_count_kv", .uint32(UInt32(c.numKVHeads))),
            ("\(arch).attention.layer_norm_rms_epsilon", .float32(c.normEps)),
            ("\(arch).rope.freq_base", .float32(Float(c.ropeTheta))),
            ("\(arch).rope.dimension_count", .uint32(UInt32(c.headDim))),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.tokens", .array(.string, (0..<c.vocabSize).map { .string("t\($0)") })),
            ("tokenizer.ggml.bos_token_id", .uint32(1)),
            ("tokenizer.ggml.eos_token_id", .uint32(2)),
            ("tokenizer.ggml.padding_token_id", .uint32(0)),
        ] + extraKV
        for (name, t0) in hf.order.map({ ($0, hf.tensors[$0]!) }) + extraTensors {
            var t = t0
            if permute && name.hasSuffix("q_proj.weight") || permute && name.hasSuffix("q_proj.bias") { t = converterPermute(t, heads: c.numHeads) }
            if permute && name.hasSuffix("k_proj.weight") || permute && name.hasSuffix("k_proj.bias") { t = converterPermute(t, heads: c.numKVHeads) }
            let g = try #require(GGUFNames.ggufName(name), "\(name)")
            b.tensors.append(.init(name: g, typeID: GGMLType.f32.rawValue, ne: t.shape.reversed(), data: f32Bytes(t.data)))
        }
        try b.write(to: url)
    }

    func expectSameWeights(_ got: LoadedCheckpoint, _ want: LoadedCheckpoint, extra: Set<String> = []) {
        #expect(Set(got.tensors.keys) == Set(want.tensors.keys).union(extra))
        for (n, t) in want.tensors {
            #expect(got.tensors[n]?.shape == t.shape, "\(n)")
            expectBitEqual(got.tensors[n]?.data ?? [], t.data, n)
        }
    }

    @Test func llamaThroughGGUF() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hf = try CheckpointLoader.load(Fixtures.model("llama"))
        let url = dir.appendingPathComponent("llama.gguf")
        try ggufFile(from: hf, arch: "llama", permute: true, to: url)
        let got = try CheckpointLoader.load(url)
        expectSameWeights(got, hf)
        let c = got.config, w = hf.config
        #expect(c.architecture == .llama && c.numLayers == w.numLayers && c.hiddenSize == w.hiddenSize)
        #expect(c.numHeads == 4 && c.numKVHeads == 2 && c.headDim == 16 && c.intermediateSize == 160 && c.vocabSize == 512)
        #expect(c.normEps == w.normEps && c.ropeTheta == w.ropeTheta && !c.tieWordEmbeddings)
        #expect(c.bosTokenId == 1 && c.eosTokenIds == [2] && c.padTokenId == 0 && c.maxPositionEmbeddings == 256)
        // Without the permutation the q rows would come back shuffled: the test can tell.
        try ggufFile(from: hf, arch: "llama", permute: false, to: url)
        let unpermuted = try CheckpointLoader.load(url)
        #expect(unpermuted.tensors["model.layers.0.self_attn.q_proj.weight"] != hf.tensors["model.layers.0.self_attn.q_proj.weight"])
    }

    @Test func tiedLlamaHasNoOutputTensor() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hf = try CheckpointLoader.load(Fixtures.model("llama_mha"))
        var tied = hf
        tied.tensors["lm_head.weight"] = nil
        tied.order.removeAll { $0 == "lm_head.weight" }
        let url = dir.appendingPathComponent("tied.gguf")
        try ggufFile(from: tied, arch: "llama", permute: true, to: url)
        let got = try CheckpointLoader.load(url)
        #expect(got.config.tieWordEmbeddings && got.config.numKVHeads == 4 && got.tensors["lm_head.weight"] == nil)
        expectSameWeights(got, tied)
    }

    @Test func qwen2AndQwen3AreNotPermuted() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let qwen2 = try CheckpointLoader.load(Fixtures.model("qwen2"))
        let u2 = dir.appendingPathComponent("qwen2.gguf")
        try ggufFile(from: qwen2, arch: "qwen2", permute: false, to: u2)
        let got2 = try CheckpointLoader.load(u2)
        expectSameWeights(got2, qwen2)
        #expect(got2.config.architecture == .qwen2 && got2.config.attentionBias && !got2.config.outputBias)

        let qwen3 = try CheckpointLoader.load(Fixtures.model("qwen3"))
        let u3 = dir.appendingPathComponent("qwen3.gguf")
        try ggufFile(from: qwen3, arch: "qwen3", permute: false,
                     extraKV: [("qwen3.attention.key_length", .uint32(32)), ("qwen3.attention.value_length", .uint32(32))], to: u3)
        let got3 = try CheckpointLoader.load(u3)
        expectSameWeights(got3, qwen3)
        #expect(got3.config.architecture == .qwen3 && got3.config.headDim == 32 && got3.config.qDim == 128 && got3.config.hasQKNorm)
    }

    /// llama-arch biases are permuted with their weights (the converter permutes
    /// q_proj.bias / k_proj.bias too); qwen2's weights plus an o_proj bias make such a model.
    @Test func llamaBiasesAreUnpermuted() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var hf = try CheckpointLoader.load(Fixtures.model("qwen2"))
        var extra: [(String, Tensor)] = []
        for l in 0..<hf.config.numLayers {
            extra.append(("model.layers.\(l).self_attn.o_proj.bias", Tensor(shape: [64], data: (0..<64).map { Float($0 + l) / 100 })))
        }
        let url = dir.appendingPathComponent("biased.gguf")
        try ggufFile(from: hf, arch: "llama", permute: true, extraTensors: extra, to: url)
        let got = try CheckpointLoader.load(url)
        #expect(got.config.architecture == .llama && got.config.attentionBias && got.config.outputBias)
        for (n, t) in extra { hf.tensors[n] = t }
        expectSameWeights(got, hf)
    }

    @Test func unsupportedGGUFsAreRefusedClearly() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hf = try CheckpointLoader.load(Fixtures.model("llama"))
        let url = dir.appendingPathComponent("x.gguf")
        try ggufFile(from: hf, arch: "gemma", permute: false, to: url)
        expectError(["x.gguf", "general.architecture", "gemma", "llama, qwen2, qwen3"]) { _ = try CheckpointLoader.load(url) }
        try ggufFile(from: hf, arch: "llama", permute: true, extraKV: [("llama.rope.scaling.type", .string("yarn"))], to: url)
        expectError(["x.gguf", "llama.rope.scaling.type", "yarn"]) { _ = try CheckpointLoader.load(url) }
        try ggufFile(from: hf, arch: "llama", permute: true, extraTensors: [("model.layers.3.mlp.gate_proj.bias", Tensor(zeros: [160]))], to: url)
        expectError(["x.gguf", "model.layers.3.mlp.gate_proj.bias", "unexpected"]) { _ = try CheckpointLoader.load(url) }
        var b = GGUFBuilder(kvs: [("general.architecture", .string("llama")), ("llama.embedding_length", .uint32(64))])
        b.tensors = [.init(name: "rope_freqs.weight", typeID: 0, ne: [8], data: f32Bytes([Float](repeating: 1, count: 8)))]
        try b.write(to: url)
        expectError(["x.gguf", "llama.attention.head_count", "missing"]) { _ = try CheckpointLoader.load(url) }
    }
}
