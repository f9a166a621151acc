// The default model, SmolLM2-135M-Instruct Q4_1 GGUF (placed by scripts/setup), against
// fixtures/smollm2 (README §4): every tensor's dequantised sums and first values, the
// un-permuted q/k_proj, the name map, the derived config and the tokenizer metadata.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

/// The file, or a failure telling how to get it: these tests must not pass by skipping.
func defaultModel() throws -> URL {
    try #require(Fixtures.defaultModel, "models/SmolLM2-135M-Instruct.Q4_1.gguf is missing: run scripts/setup")
}

@Suite(.serialized) struct SmolLM2GGUFTests {
    static let samples = Fixtures.fixtures.appendingPathComponent("smollm2/gguf_dequant_samples.safetensors")
    static let tensorsJSON = Fixtures.fixtures.appendingPathComponent("smollm2/gguf_tensors.json")

    @Test func headerMatchesTheFixtureSummary() throws {
        let g = try GGUFFile(defaultModel())
        let facts = try readJSON(SmolLM2GGUFTests.tensorsJSON)
        let summary = try #require(facts["summary"])
        #expect(g.version == 3 && g.alignment == 32 && g.dataOffset == summary["data_section_offset"]?.intValue)
        #expect(g.tensorInfos.count == 272)
        var counts: [String: Int] = [:]
        for t in g.tensorInfos { counts[t.type.name, default: 0] += 1 }
        #expect(counts == ["Q4_1": 210, "F32": 61, "Q8_0": 1])
        #expect(g.info("output.weight") == nil)
        for (t, want) in zip(g.tensorInfos, try #require(facts["tensors"]?.arrayValue)) {
            #expect(t.name == want["name"]?.stringValue)
            #expect(t.ne == want["ne"]?.arrayValue?.compactMap(\.intValue))
            #expect(t.type.rawValue == UInt32(want["ggml_type_id"]!.intValue!))
            #expect(t.offset == want["offset_in_data_section"]?.intValue && t.byteCount == want["n_bytes"]?.intValue)
            #expect(GGUFNames.hfName(t.name) == want["hf_name"]?.stringValue)
        }
    }

    /// float64 sum and sum of squares over the dequantised values: relative 1e-6 (the
    /// fixture summed in numpy's pairwise order); the first 8 values exactly.
    @Test func everyTensorDequantisesToTheFixtureSums() throws {
        let g = try GGUFFile(defaultModel())
        let want = try #require(try readJSON(SmolLM2GGUFTests.tensorsJSON)["tensors"]?.arrayValue)
        #expect(want.count == 272)
        for w in want {
            let name = w["name"]!.stringValue!
            let t = try g.tensor(name)
            var sum = 0.0, sq = 0.0
            t.data.withUnsafeBufferPointer { p in
                for x in p { let d = Double(x); sum += d; sq += d * d }
            }
            let ws = w["dequant_sum"]!.doubleValue!, wq = w["dequant_sum_of_squares"]!.doubleValue!
            #expect(abs(sum - ws) <= 1e-6 * max(abs(ws), 1e-3), "\(name) sum \(sum) vs \(ws)")
            #expect(abs(sq - wq) <= 1e-6 * wq, "\(name) sum of squares \(sq) vs \(wq)")
            let first8 = w["dequant_first8"]!.arrayValue!.map { Float($0.doubleValue!) }
            #expect(Array(t.data.prefix(8)) == first8, "\(name) first8")
            #expect(t.count == w["n_elements"]!.intValue!)
        }
    }

    @Test func loaderGivesHFTensorsAndConfig() throws {
        let ckpt = try CheckpointLoader.load(defaultModel())
        #expect(ckpt.format == "gguf" && ckpt.tensors.count == 272 && ckpt.gguf != nil)
        let s = try SafetensorsFile(SmolLM2GGUFTests.samples)
        for p in ["q_proj", "k_proj"] {
            let want = try s.tensor("hf.model.layers.0.self_attn.\(p).weight")
            let got = try #require(ckpt.tensors["model.layers.0.self_attn.\(p).weight"])
            #expect(got.shape == want.shape)
            expectBitEqual(got.data, want.data, "\(p) un-permuted")
            let gguf = try s.tensor("gguf.blk.0.attn_\(p.prefix(1)).weight")
            #expect(got.data != gguf.data, "\(p) must differ from GGUF row order")
        }
        let v = try #require(ckpt.tensors["model.layers.29.self_attn.v_proj.weight"])
        expectBitEqual(v.data, try s.tensor("gguf.blk.29.attn_v.weight").data)
        expectBitEqual(ckpt.tensors["model.norm.weight"]!.data, try s.tensor("gguf.output_norm.weight").data)
        let emb = try #require(ckpt.tensors["model.embed_tokens.weight"])
        #expect(emb.shape == [49152, 576])
        expectBitEqual(Array(emb.data.prefix(64 * 576)), try s.tensor("gguf.token_embd.weight[0:64]").data)
        expectBitEqual(Array(emb.data.suffix(64 * 576)), try s.tensor("gguf.token_embd.weight[49088:49152]").data)
        let down = try #require(ckpt.tensors["model.layers.0.mlp.down_proj.weight"])
        #expect(down.shape == [576, 1536])
        expectBitEqual(Array(down.data.prefix(64 * 1536)), try s.tensor("gguf.blk.0.ffn_down.weight[0:64]").data)
        // Every q/k_proj is a row permutation of its GGUF tensor: same sums (checked per tensor above).
        for l in [0, 15, 29] {
            let q = ckpt.tensors["model.layers.\(l).self_attn.q_proj.weight"]!
            let raw = try ckpt.gguf!.tensor("blk.\(l).attn_q.weight")
            let hd = 64
            for g in [0, 1, 2, 63, 64, 575] {
                let h = GGUFNames.hfRow(ofGGUFRow: g, headDim: hd)
                #expect(Array(q.data[(h * 576)..<((h + 1) * 576)]) == Array(raw.data[(g * 576)..<((g + 1) * 576)]))
            }
        }

        let c = ckpt.config
        #expect(c.architecture == .llama && c.numLayers == 30 && c.hiddenSize == 576)
        #expect(c.numHeads == 9 && c.numKVHeads == 3 && c.headDim == 64 && c.intermediateSize == 1536)
        #expect(c.vocabSize == 49152 && c.ropeTheta == 100000 && c.tieWordEmbeddings && c.ropeLlama3 == nil)
        #expect(c.normEps == Float(9.999999747378752e-06) && c.maxPositionEmbeddings == 8192)
        #expect(c.bosTokenId == 1 && c.eosTokenIds == [2] && c.padTokenId == 2)
        #expect(!c.attentionBias && !c.mlpBias)
        #expect(c.raw["rms_norm_eps"] == .double(9.999999747378752e-06))
    }

    @Test func tokenizerMetadata() throws {
        let g = try GGUFFile(defaultModel())
        let t = try g.tokenizerMetadata()
        #expect(t.model == "gpt2" && t.pre == "smollm")
        #expect(t.tokens.count == 49152 && t.tokens[0] == "<|endoftext|>" && t.tokens[1] == "<|im_start|>")
        #expect(t.tokenTypes?.count == 49152 && (t.merges?.count ?? 0) > 48000)
        #expect(t.bosTokenId == 1 && t.eosTokenId == 2 && t.unknownTokenId == 0 && t.paddingTokenId == 2)
        // Every header value against gguf_metadata.json (arrays by length, first and last entries).
        let meta = try #require(try readJSON(Fixtures.fixtures.appendingPathComponent("smollm2/gguf_metadata.json")).objectValue)
        for (key, entry) in meta where !key.hasPrefix("GGUF.") {
            let v = try #require(g.value(key), "\(key)")
            let types = entry["types"]!.arrayValue!.map { $0.stringValue! }
            if case .array(let et, let a) = v {
                #expect(types == ["ARRAY", "\(et)".uppercased()], "\(key) type")
                if let length = entry["length"]?.intValue {
                    // Long arrays: length, first 8, last 3.
                    #expect(length == a.count, "\(key) length")
                    let first = entry["first"]!.arrayValue!, last = entry["last"]!.arrayValue!
                    #expect(zip(a.prefix(first.count), first).allSatisfy(same), "\(key) first")
                    #expect(zip(a.suffix(last.count), last).allSatisfy(same), "\(key) last")
                } else {
                    let all = entry["value"]!.arrayValue!
                    #expect(all.count == a.count && zip(a, all).allSatisfy(same), "\(key)")
                }
            } else {
                #expect(types == ["\(v.type)".uppercased()], "\(key) type")
                #expect(same(v, entry["value"]!), "\(key): \(v) vs \(entry["value"]!)")
            }
        }
        #expect(meta["GGUF.kv_count"]?["value"]?.intValue == g.keys.count)
    }

    func same(_ v: GGUFValue, _ j: JSONValue) -> Bool {
        switch v {
        case .string(let s): return j.stringValue == s
        case .bool(let b): return j.boolValue == b
        case .float32(let f): return j.doubleValue.map { Float($0) == f } ?? false
        case .float64(let d): return j.doubleValue == d
        default: return v.intValue != nil && v.intValue == j.intValue
        }
    }
}
