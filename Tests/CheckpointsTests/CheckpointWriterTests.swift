// Saving HF folders: save → load gives the same config fields and tensors (F32 exactly,
// F16/BF16 as rounded), config.json keeps unknown fields, sharding, atomic replacement.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

@Suite struct CheckpointWriterTests {
    @Test(arguments: [StorageDType.f32, .bf16])
    func saveThenLoad(dtype: StorageDType) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try CheckpointLoader.load(Fixtures.model("qwen2"))
        let out = dir.appendingPathComponent("saved")
        let tokenizer = try Data(contentsOf: Fixtures.model("qwen2").appendingPathComponent("tokenizer.json"))
        try CheckpointWriter.save(config: src.config, tensors: src.order.map { ($0, src.tensors[$0]!) }, to: out,
                                  dtype: dtype, extraConfig: ["come_note": .string("saved by a test")],
                                  files: ["tokenizer.json": tokenizer])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)) == ["config.json", "model.safetensors", "tokenizer.json"])
        let back = try CheckpointLoader.load(out)
        #expect(back.order == src.order)
        for n in src.order {
            let want = dtype == .f32 ? src.tensors[n]!.data : src.tensors[n]!.data.map { bf16ToF32(f32ToBF16($0)) }
            expectBitEqual(back.tensors[n]!.data, want, "\(n)")
        }
        let c = back.config
        #expect(c.architecture == .qwen2 && c.numKVHeads == 2 && c.attentionBias && !c.outputBias)
        #expect(c.dtype == dtype.configName)
        #expect(c.raw["come_note"] == .string("saved by a test"))
        #expect(c.raw["max_window_layers"] == .int(28))       // unknown fields survive
        #expect(try SafetensorsFile(out.appendingPathComponent("model.safetensors")).metadata["format"] == "pt")
    }

    @Test func replacesAnExistingFolderOnlyWhenComplete() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let llama = try CheckpointLoader.load(Fixtures.model("llama"))
        let out = dir.appendingPathComponent("m")
        try CheckpointWriter.save(config: llama.config, tensors: llama.order.map { ($0, llama.tensors[$0]!) }, to: out,
                                  files: ["stale.txt": Data("old".utf8)])
        // A save that fails its check leaves the previous folder untouched and no litter.
        var bad = llama.order.map { ($0, llama.tensors[$0]!) }
        bad.removeLast()
        expectError([out.path, "missing"]) { try CheckpointWriter.save(config: llama.config, tensors: bad, to: out) }
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("stale.txt").path))
        // A successful save replaces the whole folder, sharded this time.
        try CheckpointWriter.save(config: llama.config, tensors: llama.order.map { ($0, llama.tensors[$0]!) }, to: out,
                                  dtype: .f16, maxShardBytes: 400_000)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(!files.contains("stale.txt") && files.contains(ShardedSafetensors.indexName) && !files.contains("model.safetensors"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m"])
        let back = try CheckpointLoader.load(out)
        for n in llama.order { expectBitEqual(back.tensors[n]!.data, llama.tensors[n]!.data.map { f16ToF32(f32ToF16($0)) }, n) }
    }

    @Test func prunedConfigWritesItsLayerCount() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let llama = try CheckpointLoader.load(Fixtures.model("llama_tied"))
        var c = llama.config
        c.numLayers = 4
        c.slidingWindowPerLayer = Array(c.slidingWindowPerLayer.prefix(4))
        let kept = llama.order.filter { !$0.hasPrefix("model.layers.4.") && !$0.hasPrefix("model.layers.5.") }
        try CheckpointWriter.save(config: c, tensors: kept.map { ($0, llama.tensors[$0]!) }, to: dir.appendingPathComponent("p"))
        let back = try CheckpointLoader.load(dir.appendingPathComponent("p"))
        #expect(back.config.numLayers == 4 && back.config.tieWordEmbeddings && back.config.ropeLlama3?.factor == 8)
        #expect(back.tensors.count == kept.count)
    }
}
