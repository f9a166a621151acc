// Every fixture config.json parses with the fields README §3 states, both RoPE spellings of
// llama_tied agree, and every fixture checkpoint loads through CheckpointLoader and passes
// its architecture's tensor table.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

@Suite struct ModelConfigTests {
    func config(_ model: String, _ file: String = "config.json") throws -> ModelConfig {
        try ModelConfig.load(Fixtures.model(model).appendingPathComponent(file))
    }

    @Test func llamaFamilyFields() throws {
        for m in ["llama", "llama_bf16", "llama_f16", "llama_sharded", "llama_mha", "mistral", "qwen2", "qwen3", "llama_tied"] {
            let c = try config(m)
            #expect(c.hiddenSize == 64 && c.numLayers == 6 && c.vocabSize == 512 && c.intermediateSize == 160, "\(m)")
            #expect(c.numHeads == 4, "\(m)")
            #expect(c.numKVHeads == (m == "llama_mha" ? 4 : 2), "\(m)")
            #expect(c.headDim == (m == "qwen3" ? 32 : 16), "\(m)")
            #expect(c.normEps == 1e-5 && c.ropeTheta == 10000 && c.hiddenAct == "silu", "\(m)")
            #expect(c.bosTokenId == 1 && c.eosTokenIds == [2] && c.padTokenId == 0, "\(m)")
            #expect(c.maxPositionEmbeddings == 256, "\(m)")
        }
        let llama = try config("llama")
        #expect(llama.architecture == .llama && !llama.tieWordEmbeddings && llama.ropeLlama3 == nil)
        #expect(!llama.attentionBias && !llama.mlpBias && llama.slidingWindowPerLayer == Array(repeating: nil, count: 6))
        #expect(try config("llama_bf16").dtype == "bfloat16")
        #expect(try config("llama_f16").dtype == "float16")

        let mistral = try config("mistral")
        #expect(mistral.architecture == .mistral)
        #expect(mistral.slidingWindowPerLayer == Array(repeating: 8, count: 6))

        let qwen2 = try config("qwen2")
        #expect(qwen2.architecture == .qwen2 && qwen2.attentionBias && !qwen2.outputBias)
        #expect(qwen2.slidingWindowPerLayer == Array(repeating: nil, count: 6))

        let qwen3 = try config("qwen3")
        #expect(qwen3.architecture == .qwen3 && qwen3.hasQKNorm && !qwen3.attentionBias)
        #expect(qwen3.qDim == 128 && qwen3.kvDim == 64)
    }

    @Test func llamaTiedRoPEScalingFromBothSpellings() throws {
        for file in ["config.json", "config.transformers4.json"] {
            let c = try config("llama_tied", file)
            #expect(c.tieWordEmbeddings, "\(file)")
            #expect(c.ropeTheta == 10000, "\(file)")
            let s = try #require(c.ropeLlama3, "\(file)")
            #expect(s.factor == 8 && s.lowFreqFactor == 1 && s.highFreqFactor == 4 && s.originalMaxPositionEmbeddings == 64, "\(file)")
        }
    }

    @Test func optFields() throws {
        let c = try config("opt")
        #expect(c.architecture == .opt && c.intermediateSize == 160 && c.numHeads == 4 && c.numKVHeads == 4 && c.headDim == 16)
        #expect(c.hiddenAct == "relu" && c.doLayerNormBefore && c.tieWordEmbeddings)
        #expect(c.attentionBias && c.outputBias && c.mlpBias && !c.usesRoPE)
        #expect(c.normEps == 1e-5 && c.maxPositionEmbeddings == 256)
    }

    @Test func unknownArchitectureListsTheSupportedOnes() throws {
        let text = #"{"architectures": ["GPT2LMHeadModel"], "hidden_size": 8}"#
        expectError(["cfg.json", "GPT2LMHeadModel"] + Architecture.allCases.map(\.rawValue)) {
            _ = try ModelConfig.parse(Data(text.utf8), file: "cfg.json")
        }
    }

    @Test(arguments: ["llama", "llama_bf16", "llama_f16", "llama_sharded", "llama_mha", "llama_tied", "mistral", "qwen2", "qwen3", "opt"])
    func everyFixtureCheckpointLoads(model: String) throws {
        let ckpt = try CheckpointLoader.load(Fixtures.model(model))
        #expect(ckpt.format == "safetensors" && ckpt.gguf == nil)
        let count = ["llama_tied": 56, "qwen2": 75, "qwen3": 69, "opt": 100][model] ?? 57
        #expect(ckpt.tensors.count == count && ckpt.order.count == count)
        for spec in ckpt.config.tensorSpecs {
            if let t = ckpt.tensors[spec.name] { #expect(t.shape == spec.shape, "\(spec.name)") } else { #expect(spec.optional, "\(spec.name)") }
        }
    }

    @Test func loaderTreatsSafetensorsFilePathAsItsFolder() throws {
        let viaFile = try CheckpointLoader.load(Fixtures.model("llama").appendingPathComponent("model.safetensors"))
        let viaFolder = try CheckpointLoader.load(Fixtures.model("llama"))
        #expect(viaFile.tensors == viaFolder.tensors)
        let sharded = try CheckpointLoader.load(Fixtures.model("llama_sharded"))
        #expect(sharded.tensors == viaFolder.tensors)
    }

    @Test func tableRejectsMismatchedCheckpoints() throws {
        let c = try config("llama")
        var shapes = Dictionary(uniqueKeysWithValues: c.tensorSpecs.map { ($0.name, $0.shape) })
        try c.checkTensors(shapes, file: "x")
        shapes["model.layers.3.self_attn.k_proj.weight"] = [64, 64]
        expectError(["x", "model.layers.3.self_attn.k_proj.weight", "[64, 64]", "[32, 64]"]) { try c.checkTensors(shapes, file: "x") }
        shapes["model.layers.3.self_attn.k_proj.weight"] = nil
        expectError(["model.layers.3.self_attn.k_proj.weight", "missing"]) { try c.checkTensors(shapes, file: "x") }
        shapes["model.layers.3.self_attn.k_proj.weight"] = [32, 64]
        shapes["model.layers.6.mlp.up_proj.weight"] = [160, 64]
        expectError(["model.layers.6.mlp.up_proj.weight", "unexpected"]) { try c.checkTensors(shapes, file: "x") }
    }

    @Test func loaderErrorsNameTheProblem() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        expectError([dir.path, "no config.json"]) { _ = try CheckpointLoader.load(dir) }
        try FileManager.default.copyItem(at: Fixtures.model("llama").appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        expectError([dir.path, "no model.safetensors"]) { _ = try CheckpointLoader.load(dir) }
        // Weights of another shape than the config declares.
        try Safetensors.write([("model.embed_tokens.weight", Tensor(zeros: [512, 32]))], to: dir.appendingPathComponent("model.safetensors"))
        expectError(["model.safetensors", "model.embed_tokens.weight", "[512, 32]"]) { _ = try CheckpointLoader.load(dir) }
        expectError(["nothing.bin", "expected a folder"]) {
            let u = dir.appendingPathComponent("nothing.bin")
            try Data([0]).write(to: u)
            _ = try CheckpointLoader.load(u)
        }
    }
}
