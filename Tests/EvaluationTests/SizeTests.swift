// Parameter counts of the tiny fixtures against counts made independently from the
// safetensors headers (tensor names and shapes, read here with JSONSerialization), and
// from the llama fixture's config.json by hand; the ratio after removing layers.
import Evaluation
import Foundation
import TestSupport
import Testing
import Transformer

/// Parameters per component, from the names and shapes in the file alone.
private struct HeaderCounts {
    var embed = 0, positions = 0, lmHead = 0, finalNorm = 0, total = 0
    var attention: [Int: Int] = [:], mlp: [Int: Int] = [:], norms: [Int: Int] = [:]

    init(_ fixture: String) throws {
        let data = try Data(contentsOf: Fixtures.model(fixture).appendingPathComponent("model.safetensors"))
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
        let layerRe = try NSRegularExpression(pattern: #"layers\.(\d+)\."#)
        for (name, v) in header where name != "__metadata__" {
            let shape = try #require((v as? [String: Any])?["shape"] as? [Int])
            let count = shape.reduce(1, *)
            total += count
            let ns = name as NSString
            if let m = layerRe.firstMatch(in: name, range: NSRange(location: 0, length: ns.length)) {
                let layer = Int(ns.substring(with: m.range(at: 1)))!
                if name.contains(".self_attn.") { attention[layer, default: 0] += count }
                else if name.contains(".mlp.") || name.contains(".fc1.") || name.contains(".fc2.") { mlp[layer, default: 0] += count }
                else if name.contains("layernorm") || name.contains("layer_norm") { norms[layer, default: 0] += count }
                else { Issue.record("unclassified tensor \(name)") }
            } else if name.contains("embed_tokens") { embed += count }
            else if name.contains("embed_positions") { positions += count }
            else if name.hasPrefix("lm_head") { lmHead += count }
            else { finalNorm += count }
        }
    }
}

@Test(arguments: ["llama", "llama_tied", "qwen2", "qwen3", "opt", "mistral"])
func parameterCountsMatchTheCheckpointsShapes(fixture: String) throws {
    let h = try HeaderCounts(fixture)
    let m = try Model.load(Fixtures.model(fixture).path)
    let r = ParameterReport(m)
    #expect(r.total == h.total)
    #expect(r.total == m.parameterCount)
    #expect(r.inputEmbedding == h.embed)
    #expect(r.positionEmbedding == h.positions)
    #expect(r.lmHead == h.lmHead)
    #expect(r.tied == (h.lmHead == 0))
    #expect(r.embeddings == h.embed + h.positions + h.lmHead)
    #expect(r.finalNorm == h.finalNorm)
    #expect(r.layers.count == h.attention.count)
    for (i, l) in r.layers.enumerated() {
        #expect(l.attention == h.attention[i], "\(fixture) layer \(i) attention")
        #expect(l.mlp == h.mlp[i], "\(fixture) layer \(i) mlp")
        #expect(l.norms == h.norms[i], "\(fixture) layer \(i) norms")
    }
    #expect(r.fp32Bytes == 4 * h.total && r.bf16Bytes == 2 * h.total)
}

@Test func llamaCountsFollowFromItsConfig() throws {
    let config = try #require(try JSONSerialization.jsonObject(
        with: Data(contentsOf: Fixtures.model("llama").appendingPathComponent("config.json"))) as? [String: Any])
    let H = config["hidden_size"] as! Int, I = config["intermediate_size"] as! Int, V = config["vocab_size"] as! Int
    let L = config["num_hidden_layers"] as! Int, hd = config["head_dim"] as! Int
    let q = (config["num_attention_heads"] as! Int) * hd, kv = (config["num_key_value_heads"] as! Int) * hd
    let r = ParameterReport(try Model.load(Fixtures.model("llama").path))
    let attention = H * q + 2 * H * kv + q * H, mlp = 3 * H * I, norms = 2 * H
    #expect(r.layers == Array(repeating: ParameterReport.Layer(attention: attention, mlp: mlp, norms: norms), count: L))
    #expect(r.embeddings == 2 * V * H)       // untied: embed_tokens and lm_head
    #expect(r.total == 2 * V * H + L * (attention + mlp + norms) + H)
    #expect(r.total == 324_416)
}

@Test func ratioAfterRemovingLayers() throws {
    let dense = try Model.load(Fixtures.model("llama").path)
    var pruned = dense
    try pruned.removeLayers([1, 2])
    let d = ParameterReport(dense), p = ParameterReport(pruned)
    let perLayer = d.layers[0].total
    let c = p.compressionRatio(against: d)
    #expect(c.removedParameters == 2 * perLayer)
    #expect(abs(c.ratio - Double(d.total) / Double(d.total - 2 * perLayer)) < 1e-12)
    #expect(abs(c.removed - 2 * Double(perLayer) / Double(d.total)) < 1e-12)
    // 2 × 43,136 of 324,416: 26.59 % removed, ratio 1.3623.
    #expect(abs(c.removed - 0.265930) < 1e-6)
    #expect(abs(c.ratio - 1.362268) < 1e-6)
    let same = d.compressionRatio(against: d)
    #expect(same.ratio == 1 && same.removed == 0)
}
