// Dequantisation of every supported ggml type against independent references: python
// gguf's dequantize (Data/quant_vectors.safetensors, made by scripts/gen-quant-vectors.py)
// and the raw Q8_0 / Q4_1 blocks of SmolLM2's GGUF stored in the fixtures. Bit-exact.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

@Suite struct DequantizeTests {
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    func dequantize(_ type: GGMLType, _ raw: [UInt8], rows: Int, rowLength: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: rows * rowLength)
        raw.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { dst in
                Dequantize.rows(type, from: src.baseAddress!, rows: rows, rowLength: rowLength, into: dst.baseAddress!)
            }
        }
        return out
    }

    @Test(arguments: types)
    func matchesPythonGGUF(type: GGMLType) throws {
        let v = try SafetensorsFile(TestData.url("quant_vectors.safetensors"))
        let raw = try v.bytes("\(type.name).raw")
        let want = try v.tensor("\(type.name).expected")
        let (rows, n) = (want.shape[0], want.shape[1])
        #expect(raw.count == rows * type.rowBytes(n)!)
        let got = dequantize(type, raw, rows: rows, rowLength: n)
        expectBitEqual(got, want.data, "\(type.name): max |diff| \(maxAbsDiff(got, want.data))")
        // The same rows read through a GGUF file written by python's GGUFWriter.
        let g = try GGUFFile(TestData.url("tiny_v3.gguf"))
        let t = try g.tensor("t.\(type.name)")
        #expect(g.info("t.\(type.name)")?.type == type)
        #expect(t.shape == [rows, n])
        expectBitEqual(t.data, want.data, "t.\(type.name) via GGUF")
    }

    @Test func smolLM2RawBlocks() throws {
        let s = try SafetensorsFile(Fixtures.fixtures.appendingPathComponent("smollm2/gguf_dequant_samples.safetensors"))
        // 4 Q8_0 blocks (34 bytes each) = the first 128 values of token_embd row 0.
        let q8 = dequantize(.q8_0, try s.bytes("raw.token_embd.weight.first4blocks"), rows: 1, rowLength: 128)
        expectBitEqual(q8, Array(try s.tensor("gguf.token_embd.weight[0:64]").data.prefix(128)))
        // 4 Q4_1 blocks (20 bytes each) = the first 128 values of attn_q row 0 (GGUF order).
        let q41 = dequantize(.q4_1, try s.bytes("raw.blk.0.attn_q.weight.first4blocks"), rows: 1, rowLength: 128)
        expectBitEqual(q41, Array(try s.tensor("gguf.blk.0.attn_q.weight").data.prefix(128)))
    }

    /// The parallel row path against a row-at-a-time loop, and the row map.
    @Test(arguments: [GGMLType.q4_1, .q6_K, .f16])
    func parallelRowsEqualSerialRows(type: GGMLType) {
        let rows = 300, n = 512, rowBytes = type.rowBytes(n)!
        var rng = SystemRandomNumberGenerator()
        var raw = (0..<(rows * rowBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // Keep the f16 scales finite so NaN ≠ NaN cannot hide a mismatch.
        let scaleAt: [Int] = type == .q6_K ? [208] : type == .q4_1 ? [0, 2] : []
        let blocks = rows * n / type.blockSize
        for b in 0..<blocks { for o in scaleAt { raw[b * type.typeSize + o + 1] &= 0x3B } }
        if type == .f16 { for i in stride(from: 1, to: raw.count, by: 2) { raw[i] &= 0x3B } }
        let fast = dequantize(type, raw, rows: rows, rowLength: n)
        var slow: [Float] = []
        for r in 0..<rows { slow += dequantize(type, Array(raw[(r * rowBytes)..<((r + 1) * rowBytes)]), rows: 1, rowLength: n) }
        expectBitEqual(fast, slow)
        var mapped = [Float](repeating: .nan, count: rows * n)
        raw.withUnsafeBytes { src in
            mapped.withUnsafeMutableBufferPointer { dst in
                Dequantize.rows(type, from: src.baseAddress!, rows: rows, rowLength: n, into: dst.baseAddress!) { rows - 1 - $0 }
            }
        }
        for r in [0, 1, 150, 299] {
            expectBitEqual(Array(mapped[(r * n)..<((r + 1) * n)]), Array(slow[((rows - 1 - r) * n)..<((rows - r) * n)]))
        }
    }

    @Test func qkPermutationIsABijectionMatchingTheConverter() {
        for hd in [2, 16, 64] {
            let rows = 3 * hd
            let hf = (0..<rows).map { GGUFNames.hfRow(ofGGUFRow: $0, headDim: hd) }
            #expect(Set(hf).count == rows && hf.allSatisfy { $0 >= 0 && $0 < rows })
            for g in 0..<rows { #expect(GGUFNames.ggufRow(ofHFRow: hf[g], headDim: hd) == g) }
        }
        // README §4 spelled out: HF row h·hd + j·hd/2 + i = GGUF row h·hd + 2i + j.
        #expect(GGUFNames.hfRow(ofGGUFRow: 64 + 2 * 5 + 1, headDim: 64) == 64 + 32 + 5)
        #expect(GGUFNames.hfRow(ofGGUFRow: 2 * 7, headDim: 64) == 7)
    }

    @Test func nameMap() {
        let pairs = [
            ("token_embd.weight", "model.embed_tokens.weight"), ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"), ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
            ("blk.12.ffn_norm.weight", "model.layers.12.post_attention_layernorm.weight"),
            ("blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"), ("blk.3.attn_q.bias", "model.layers.3.self_attn.q_proj.bias"),
            ("blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight"), ("blk.3.attn_v.bias", "model.layers.3.self_attn.v_proj.bias"),
            ("blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"),
            ("blk.3.attn_q_norm.weight", "model.layers.3.self_attn.q_norm.weight"), ("blk.3.attn_k_norm.weight", "model.layers.3.self_attn.k_norm.weight"),
            ("blk.29.ffn_gate.weight", "model.layers.29.mlp.gate_proj.weight"), ("blk.29.ffn_up.weight", "model.layers.29.mlp.up_proj.weight"),
            ("blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight"),
        ]
        for (g, h) in pairs {
            #expect(GGUFNames.hfName(g) == h)
            #expect(GGUFNames.ggufName(h) == g)
        }
        for bad in ["rope_freqs.weight", "blk.x.attn_q.weight", "blk.1.attn_qq.weight", "blk.01.attn_q.weight", "token_embd", "blk.1.attn_q.scale"] {
            #expect(GGUFNames.hfName(bad) == nil, "\(bad)")
        }
        #expect(GGUFNames.permutedHeads("blk.0.attn_q.weight", architecture: "llama", heads: 9, kvHeads: 3) == 9)
        #expect(GGUFNames.permutedHeads("blk.0.attn_k.weight", architecture: "llama", heads: 9, kvHeads: 3) == 3)
        #expect(GGUFNames.permutedHeads("blk.0.attn_v.weight", architecture: "llama", heads: 9, kvHeads: 3) == nil)
        #expect(GGUFNames.permutedHeads("blk.0.attn_q.weight", architecture: "qwen2", heads: 9, kvHeads: 3) == nil)
        #expect(GGUFNames.permutedHeads("blk.0.attn_k.weight", architecture: "qwen3", heads: 9, kvHeads: 3) == nil)
    }
}
