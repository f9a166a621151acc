// Safetensors reading and writing against the fixture checkpoints (README §3, §3.2, §6):
// fp32, bf16, f16 and 2-shard copies of models/llama, I64 and U8 tensors, crafted malformed
// files, and write → read round trips.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

@Suite struct SafetensorsTests {
    let llama = Fixtures.model("llama").appendingPathComponent("model.safetensors")

    @Test func readsFixtureLlamaF32() throws {
        let f = try SafetensorsFile(llama)
        #expect(f.names.count == 57)
        #expect(f.metadata == ["format": "pt"])
        #expect(f.dataOffset == 8 + 5888)
        let q = try #require(f.info("model.layers.0.self_attn.q_proj.weight"))
        #expect(q.dtype == .f32 && q.shape == [64, 64])
        let k = try f.tensor("model.layers.0.self_attn.k_proj.weight")
        #expect(k.shape == [32, 64] && k.count == 2048)
        #expect(f.info("model.layers.5.mlp.down_proj.weight")?.shape == [64, 160])
        // Norm weights are 1 + 0.1·N(0,1): a loose sanity check that the bytes are floats.
        let norm = try f.tensor("model.norm.weight")
        #expect(norm.data.allSatisfy { $0 > 0.5 && $0 < 1.5 })
        // File order is data-offset order (the fixture writer sorts by name).
        #expect(f.names == f.names.sorted())
    }

    @Test func bf16AndF16AreTheF32ValuesRounded() throws {
        let f32 = try SafetensorsFile(llama)
        for (folder, dtype, round) in [("llama_bf16", StorageDType.bf16, { (x: Float) in bf16ToF32(f32ToBF16(x)) }),
                                       ("llama_f16", StorageDType.f16, { (x: Float) in f16ToF32(f32ToF16(x)) })] {
            let f = try SafetensorsFile(Fixtures.model(folder).appendingPathComponent("model.safetensors"))
            #expect(f.names.sorted() == f32.names.sorted())
            for n in f32.names {
                #expect(f.info(n)?.dtype == dtype)
                let want = try f32.tensor(n)
                let got = try f.tensor(n)
                #expect(got.shape == want.shape)
                expectBitEqual(got.data, want.data.map(round), "\(folder) \(n)")
            }
        }
    }

    @Test func shardedFolderEqualsLlamaExactly() throws {
        let f32 = try SafetensorsFile(llama)
        let sharded = try ShardedSafetensors(index: Fixtures.model("llama_sharded").appendingPathComponent(ShardedSafetensors.indexName))
        #expect(sharded.shards.count == 2)
        #expect(Set(sharded.names) == Set(f32.names))
        for n in f32.names {
            expectBitEqual(try sharded.tensor(n).data, try f32.tensor(n).data, "\(n)")
            #expect(sharded.info(n)?.shape == f32.info(n)?.shape)
        }
    }

    @Test func readsIntegerAndByteTensors() throws {
        let out = try SafetensorsFile(Fixtures.model("llama").appendingPathComponent("outputs.safetensors"))
        #expect(out.info("batch1.input_ids")?.dtype == .i64)
        let ids = try out.int64s("batch1.input_ids")
        let inputs = try readJSON(Fixtures.model("llama").appendingPathComponent("inputs.json"))
        let want = try #require(inputs["batch1"]?["input_ids"]?.arrayValue).flatMap { $0.arrayValue!.map { Int64($0.intValue!) } }
        #expect(ids == want)
        expectError(["outputs.safetensors", "batch1.input_ids", "int64s"]) { _ = try out.tensor("batch1.input_ids") }
        expectError(["outputs.safetensors", "no.such", "no such tensor"]) { _ = try out.tensor("no.such") }

        let samples = try SafetensorsFile(Fixtures.fixtures.appendingPathComponent("smollm2/gguf_dequant_samples.safetensors"))
        #expect(samples.metadata.isEmpty)
        let raw = try samples.bytes("raw.token_embd.weight.first4blocks")
        #expect(raw.count == 136 && samples.info("raw.token_embd.weight.first4blocks")?.dtype == .u8)
        #expect(try samples.int64s("raw.token_embd.weight.first4blocks") == raw.map(Int64.init))
    }

    // MARK: Malformed files

    /// A file from a raw header string (padded to 8) and `dataBytes` zero bytes of data.
    func craft(_ dir: URL, _ name: String, header: String, dataBytes: Int, headerLength: UInt64? = nil) throws -> URL {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var d = Data()
        withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: h)
        d.append(Data(count: dataBytes))
        let u = dir.appendingPathComponent(name)
        try d.write(to: u)
        return u
    }

    @Test func malformedFilesNameTheFileAndTheTensor() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ok = #"{"w.ok":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}"#

        // Whole-file problems: the message names the file.
        let tiny = dir.appendingPathComponent("tiny.safetensors")
        try Data([1, 2, 3]).write(to: tiny)
        expectError(["tiny.safetensors", "too short"]) { _ = try SafetensorsFile(tiny) }
        let long = try craft(dir, "long.safetensors", header: ok + "}", dataBytes: 24, headerLength: 1 << 40)
        expectError(["long.safetensors", "header length", "past the end"]) { _ = try SafetensorsFile(long) }
        let notJSON = try craft(dir, "notjson.safetensors", header: "{\"w\": nope}", dataBytes: 0)
        expectError(["notjson.safetensors", "not valid JSON"]) { _ = try SafetensorsFile(notJSON) }
        let array = try craft(dir, "array.safetensors", header: "[1, 2]", dataBytes: 0)
        expectError(["array.safetensors", "not a JSON object"]) { _ = try SafetensorsFile(array) }

        // Per-tensor problems: the message names the file and the tensor.
        let cases: [(file: String, header: String, data: Int, parts: [String])] = [
            ("dtype.safetensors", #"{"w.bad":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}"#, 8, ["w.bad", "unknown dtype F7"]),
            ("count.safetensors", #"{"w.bad":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#, 24, ["w.bad", "24 bytes", "span 20"]),
            ("range.safetensors", #"{"w.bad":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}}"#, 24, ["w.bad", "out of range"]),
            ("reversed.safetensors", #"{"w.bad":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}}"#, 24, ["w.bad", "out of range"]),
            ("overlap.safetensors", #"{"w.a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"w.bad":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, 24, ["w.bad", "overlap", "w.a"]),
            ("duplicate.safetensors", #"{"w.bad":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w.bad":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, 16, ["duplicate key", "w.bad"]),
            ("shape.safetensors", #"{"w.bad":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, 8, ["w.bad", "shape"]),
            ("offsets.safetensors", #"{"w.bad":{"dtype":"F32","shape":[2]}}"#, 8, ["w.bad", "data_offsets"]),
            ("entry.safetensors", #"{"w.bad":[1,2]}"#, 0, ["w.bad", "expected an object"]),
            ("meta.safetensors", #"{"__metadata__":{"format":1},"w.ok":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 4, ["__metadata__", "format"]),
        ]
        for c in cases {
            let u = try craft(dir, c.file, header: c.header, dataBytes: c.data)
            expectError([c.file] + c.parts) { _ = try SafetensorsFile(u) }
        }
        // The crafting itself is sound: the good header reads.
        let good = try craft(dir, "good.safetensors", header: ok + "}", dataBytes: 24)
        #expect(try SafetensorsFile(good).tensor("w.ok").data == [0, 0, 0, 0, 0, 0])
    }

    // MARK: Writing

    @Test(arguments: [StorageDType.f32, .f16, .bf16])
    func writeReadRoundTrip(dtype: StorageDType) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let special: [Float] = [0, -0.0, 1, -2.5, 65504, 1e-7, -Float(bitPattern: 0x5555), .infinity, -.infinity, 0.1, 1.0e30, 3.3333333]
        let tensors: [(name: String, tensor: Tensor)] = [
            ("z.first", Tensor(shape: [3, 4], data: special)),
            ("a.second", Tensor(shape: [5], data: (0..<5).map { Float($0) * 0.37 - 1 })),
            ("m.empty", Tensor(shape: [0, 3], data: [])),
            ("b.big", Tensor(shape: [300, 7], data: (0..<2100).map { sin(Float($0)) * 40 })),
        ]
        let url = dir.appendingPathComponent("x.safetensors")
        try Safetensors.write(tensors, to: url, dtype: dtype, metadata: ["format": "pt", "note": "ü \"quoted\""])
        let f = try SafetensorsFile(url)
        #expect(f.names == tensors.map(\.name))           // the given order, not sorted
        #expect(f.metadata == ["format": "pt", "note": "ü \"quoted\""])
        #expect((f.dataOffset - 8) % 8 == 0)
        let round: (Float) -> Float
        switch dtype {
        case .f16: round = { f16ToF32(f32ToF16($0)) }
        case .bf16: round = { bf16ToF32(f32ToBF16($0)) }
        default: round = { $0 }
        }
        for t in tensors {
            #expect(f.info(t.name)?.dtype == dtype)
            let got = try f.tensor(t.name)
            #expect(got.shape == t.tensor.shape)
            expectBitEqual(got.data, t.tensor.data.map(round), "\(t.name)")
        }
        // Overwriting replaces the file; nothing temporary is left behind.
        try Safetensors.write([("only", Tensor(shape: [1], data: [7]))], to: url, dtype: dtype)
        #expect(try SafetensorsFile(url).names == ["only"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.safetensors"])
    }

    @Test func writeRejectsBadInput() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.safetensors")
        let t = Tensor(shape: [1], data: [1])
        expectError(["bad.safetensors", "twice"]) { try Safetensors.write([("a", t), ("a", t)], to: url) }
        expectError(["bad.safetensors", "I64"]) { try Safetensors.write([("a", t)], to: url, dtype: .i64) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func shardedWriteAndRead() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = try SafetensorsFile(llama)
        let tensors = try src.names.map { (name: $0, tensor: try src.tensor($0)) }
        let files = try ShardedSafetensors.write(tensors, to: dir, maxShardBytes: 300_000, dtype: .f32)
        #expect(files.count > 3 && files.last == ShardedSafetensors.indexName)
        #expect(files.first == "model-00001-of-\(String(format: "%05d", files.count - 1)).safetensors")
        let index = try readJSON(dir.appendingPathComponent(ShardedSafetensors.indexName))
        #expect(index["metadata"]?["total_size"]?.intValue == 1_297_664)  // as the fixture's index says
        let back = try ShardedSafetensors(index: dir.appendingPathComponent(ShardedSafetensors.indexName))
        #expect(back.names == src.names)                   // shards keep the given order
        for n in src.names { expectBitEqual(try back.tensor(n).data, try src.tensor(n).data, n) }
        for f in files.dropLast() {
            let shard = try SafetensorsFile(dir.appendingPathComponent(f))
            let bytes = shard.names.reduce(0) { $0 + shard.info($1)!.shape.reduce(4, *) }
            #expect(bytes <= 300_000 || shard.names.count == 1)
        }
        // One shard is a plain model.safetensors.
        let one = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: one) }
        #expect(try ShardedSafetensors.write(tensors, to: one, maxShardBytes: 1 << 30) == ["model.safetensors"])
    }

    @Test func brokenIndexNamesTheShardAndTensor() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let shard = dir.appendingPathComponent("part-1.safetensors")
        try Safetensors.write([("a.weight", Tensor(shape: [2], data: [1, 2]))], to: shard)
        func index(_ map: [String: String]) throws -> URL {
            let u = dir.appendingPathComponent(ShardedSafetensors.indexName)
            let j = JSONValue.object(["weight_map": .object(map.mapValues { .string($0) })])
            try Data(j.serialized().utf8).write(to: u)
            return u
        }
        let missingFile = try index(["a.weight": "part-1.safetensors", "b.weight": "part-2.safetensors"])
        expectError([ShardedSafetensors.indexName, "b.weight", "part-2.safetensors", "does not exist"]) {
            _ = try ShardedSafetensors(index: missingFile)
        }
        let missingTensor = try index(["a.weight": "part-1.safetensors", "c.weight": "part-1.safetensors"])
        expectError(["part-1.safetensors", "c.weight", "not in this shard"]) { _ = try ShardedSafetensors(index: missingTensor) }
        let escape = try index(["a.weight": "../x.safetensors"])
        expectError(["a.weight", "plain file name"]) { _ = try ShardedSafetensors(index: escape) }
        let good = try index(["a.weight": "part-1.safetensors"])
        #expect(try ShardedSafetensors(index: good).tensor("a.weight").data == [1, 2])
    }
}
