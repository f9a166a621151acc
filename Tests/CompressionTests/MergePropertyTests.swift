// Properties of the concatenation merge (reference-algorithms.md §3.7) on the random
// fixture checkpoints of every architecture: shapes are kept, a merge that takes every
// head and neuron from one layer reproduces that layer (norms averaged, biases weighted),
// and merge → save → load gives identical logits and restores the merge tree.
import Checkpoints
import Compression
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

let mergeArchitectures = ["llama", "llama_mha", "mistral", "qwen2", "qwen3", "opt"]

/// Random-but-seeded channel scores for the current layers.
func randomScores(_ m: Model, seed: UInt64) -> LayerScores {
    var g = SplitMix(seed)
    return LayerScores(blockInfluence: m.layers.map { _ in g.double() + 0.1 }, angularSkip: [],
                       neuron: m.layers.map { l in (0..<l.intermediateSize).map { _ in Float(g.double()) } },
                       headGroup: m.layers.map { l in (0..<l.numKVHeads).map { _ in Float(g.double()) } },
                       windows: 1, seconds: 0)
}

struct SplitMix {
    var s: UInt64
    init(_ seed: UInt64) { s = seed }
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func double() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

func tensorsOf(_ l: DecoderLayer) -> [(String, Tensor)] {
    var out: [(String, Tensor)] = [("q", l.q.weight), ("k", l.k.weight), ("v", l.v.weight), ("o", l.o.weight), ("up", l.up.weight), ("down", l.down.weight),
                                   ("attnNorm", l.attentionNorm.weight), ("mlpNorm", l.mlpNorm.weight)]
    if let g = l.gate { out.append(("gate", g.weight)) }
    for (n, b) in [("q.b", l.q.bias), ("k.b", l.k.bias), ("v.b", l.v.bias), ("o.b", l.o.bias), ("up.b", l.up.bias), ("down.b", l.down.bias),
                   ("attnNorm.b", l.attentionNorm.bias), ("mlpNorm.b", l.mlpNorm.bias), ("qNorm", l.qNorm?.weight), ("kNorm", l.kNorm?.weight)] {
        if let b { out.append((n, b)) }
    }
    return out
}

@Suite("merge properties")
struct MergePropertyTests {
    @Test(arguments: mergeArchitectures)
    func mergeKeepsShapes(_ name: String) throws {
        let m = try Model.load(Fixtures.model(name).path)
        for (k, ps) in [[1, 2], [0, 1, 2], [3, 4, 5]].enumerated() {
            var g = SplitMix(UInt64(k))
            var q = ps.map { _ in g.double() + 0.05 }
            let s = q.reduce(0, +); q = q.map { $0 / s }
            for tiled in [false, true] {
                let plan = try ConcatMerge.plan(m, positions: ps, ratios: q, scores: randomScores(m, seed: UInt64(k)), tiledQueryHeads: tiled)
                #expect(plan.headBudget.reduce(0, +) == m.layers[0].numKVHeads)
                #expect(plan.neuronBudget.reduce(0, +) == m.layers[0].intermediateSize)
                #expect(plan.keptQueryHeads.map(\.count).reduce(0, +) == m.layers[0].numHeads)
                let merged = ConcatMerge.mergedLayer(m, plan: plan)
                let a = tensorsOf(merged), b = tensorsOf(m.layers[ps[0]])
                #expect(a.map(\.0) == b.map(\.0), "\(name): the same parameters")
                for ((n, x), (_, y)) in zip(a, b) { #expect(x.shape == y.shape, "\(name) \(ps) \(n)") }
                var mm = m
                try ConcatMerge.apply(&mm, plan: plan)
                #expect(mm.numLayers == m.numLayers - ps.count + 1)
                let r = try mm.forward([[1, 2, 3, 4, 5]], options: ForwardOptions(logits: .last))
                #expect(r.logits!.data.allSatisfy { $0.isFinite })
            }
        }
    }

    /// Ratios [1, 0] give layer p0 everything, [0, 1] give layer p1 everything: the merged
    /// layer is that layer, except the norms (plain mean of both) and the summed biases /
    /// Qwen3 q-k norms (ratio-weighted, so that layer's own).
    @Test(arguments: mergeArchitectures)
    func allFromOneLayer(_ name: String) throws {
        let m = try Model.load(Fixtures.model(name).path)
        for (ratios, from) in [([1.0, 0.0], 0), ([0.0, 1.0], 1)] {
            let ps = [2, 3]
            for tiled in [false, true] {
                let plan = try ConcatMerge.plan(m, positions: ps, ratios: ratios, scores: randomScores(m, seed: 7), tiledQueryHeads: tiled)
                let merged = ConcatMerge.mergedLayer(m, plan: plan)
                let src = m.layers[ps[from]], other = m.layers[ps[1 - from]]
                let a = Dictionary(uniqueKeysWithValues: tensorsOf(merged)), b = Dictionary(uniqueKeysWithValues: tensorsOf(src))
                let o = Dictionary(uniqueKeysWithValues: tensorsOf(other))
                for (n, t) in a {
                    if ["attnNorm", "mlpNorm", "attnNorm.b", "mlpNorm.b"].contains(n) {
                        let mean = zip(b[n]!.data, o[n]!.data).map { ($0 + $1) / 2 }
                        #expect(t.data == mean, "\(name) \(n): mean of both layers")
                    } else {
                        #expect(t.data == b[n]!.data, "\(name) \(n) ratios \(ratios) tiled \(tiled)")
                    }
                }
                // And as a layer: with the source's norms it computes exactly what the source does.
                var fixed = merged
                fixed.attentionNorm = src.attentionNorm; fixed.mlpNorm = src.mlpNorm
                var m1 = m, m2 = m
                try m1.replaceLayer(at: 0, with: src)
                try m2.replaceLayer(at: 0, with: fixed)
                let ids = [[3, 1, 4, 1, 5, 9, 2, 6]]
                #expect(try m1.forward(ids).logits!.data == m2.forward(ids).logits!.data, "\(name) ratios \(ratios)")
            }
        }
    }

    @Test(arguments: mergeArchitectures)
    func mergeSaveLoadIdenticalLogits(_ name: String) throws {
        var m = try Model.load(Fixtures.model(name).path)
        let plan = try ConcatMerge.plan(m, positions: [1, 2], ratios: [0.6, 0.4], scores: randomScores(m, seed: 3))
        try ConcatMerge.apply(&m, plan: plan)
        let plan2 = try ConcatMerge.plan(m, positions: [0, 1], ratios: [0.3, 0.7], scores: randomScores(m, seed: 4))
        try ConcatMerge.apply(&m, plan: plan2)
        let dir = try Fixtures.temporaryDirectory("come-merge-save")
        defer { try? FileManager.default.removeItem(at: dir) }
        let u = dir.appendingPathComponent("pruned")
        try PruneJob.saveCheckpoint(m, to: u)
        let back = try Model.load(u.path)
        #expect(back.numLayers == m.numLayers)
        #expect(back.mergeTree == m.mergeTree)
        #expect(back.mergeTree.current.map(\.description) == ["[0, [1, 2]]", "3", "4", "5"])
        let ids = [[5, 4, 3, 2, 1, 0, 7, 8, 9]]
        // The weights come back bit for bit; the logits agree to rounding only, because tests
        // running in parallel change OpenBLAS's global thread count (and so its blocking).
        let a = m.namedTensors(), b = back.namedTensors()
        #expect(a.map(\.name) == b.map(\.name))
        for (x, y) in zip(a, b) { #expect(x.tensor.data == y.tensor.data, "\(name): \(x.name) after save/load") }
        let want = try m.forward(ids).logits!.data, got = try back.forward(ids).logits!.data
        let scale = want.map(abs).max() ?? 1
        #expect(zip(want, got).map { abs($0 - $1) }.max()! <= 1e-5 * scale, "\(name): logits after save/load")
        #expect(FileManager.default.fileExists(atPath: u.appendingPathComponent("tokenizer.json").path))
    }
}
