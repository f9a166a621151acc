// Concatenation merge of k adjacent layers into one (reference-algorithms.md §3.7): each
// source layer keeps its budget of KV head groups and MLP neurons (the highest-scoring, in
// ascending index order), slices are concatenated in layer order, norms are averaged,
// biases that are summed and Qwen3 q/k norms are ratio-weighted. Shapes never change.
import Tensors
import Transformer

/// Everything decided for one merge, for logs, tests and the REPL.
public struct MergePlan: Sendable, Equatable {
    /// Current positions, ascending and contiguous.
    public var positions: [Int]
    public var ratios: [Double]
    /// KV head groups per source layer (OPT: heads).
    public var headBudget: [Int]
    public var neuronBudget: [Int]
    /// Kept KV groups of each source layer, ascending.
    public var keptGroups: [[Int]]
    /// Kept query heads of each source layer, ascending (by GQA group, or the tiled rule Q2).
    public var keptQueryHeads: [[Int]]
    /// Kept neurons of each source layer, ascending.
    public var keptNeurons: [[Int]]
}

public enum ConcatMerge {
    /// Decides budgets and kept channels from the scores of the current model.
    public static func plan(_ model: Model, positions: [Int], ratios: [Double], scores: LayerScores,
                            tiledQueryHeads: Bool = false) throws -> MergePlan {
        let ps = positions.sorted()
        guard ps.count >= 1, ps.count == ratios.count else { throw ModelError("merge: \(ps.count) positions but \(ratios.count) ratios") }
        guard ps.first! >= 0, ps.last! < model.numLayers else { throw ModelError("merge positions \(ps) outside 0..\(model.numLayers - 1)") }
        for (a, b) in zip(ps, ps.dropFirst()) where b != a + 1 { throw ModelError("merge positions \(ps) are not adjacent") }
        let layers = ps.map { model.layers[$0] }
        let l0 = layers[0]
        for l in layers.dropFirst() {
            guard l.numHeads == l0.numHeads, l.numKVHeads == l0.numKVHeads, l.headDim == l0.headDim,
                  l.intermediateSize == l0.intermediateSize else {
                throw ModelError("merge: layers \(ps) differ in heads or MLP width")
            }
        }
        guard scores.neuron.count == model.numLayers, scores.headGroup.count == model.numLayers else {
            throw ModelError("merge: the channel scores describe \(scores.neuron.count) layers, the model has \(model.numLayers)")
        }
        let nkv = l0.numKVHeads, nh = l0.numHeads, r = nh / nkv
        let hb = Budget.distributeAndRound(nkv, ratios)
        let nb = Budget.distributeAndRound(l0.intermediateSize, ratios)
        var groups: [[Int]] = [], queries: [[Int]] = [], neurons: [[Int]] = []
        for (i, p) in ps.enumerated() {
            let g = Budget.keepTop(scores.headGroup[p], hb[i])
            groups.append(g)
            if tiledQueryHeads {
                // Q2: the K/V row mask tiled r times keeps query heads h with h mod Hkv ∈ kept.
                queries.append((0..<nh).filter { g.contains($0 % nkv) })
            } else {
                queries.append(g.flatMap { k in (k * r)..<((k + 1) * r) })
            }
            neurons.append(Budget.keepTop(scores.neuron[p], nb[i]))
        }
        return MergePlan(positions: ps, ratios: ratios, headBudget: hb, neuronBudget: nb, keptGroups: groups,
                         keptQueryHeads: queries, keptNeurons: neurons)
    }

    /// Builds the merged layer of `plan` from the model's current layers.
    public static func mergedLayer(_ model: Model, plan: MergePlan) -> DecoderLayer {
        let src = plan.positions.map { model.layers[$0] }
        let l0 = src[0]
        let hd = l0.headDim
        let q = plan.ratios
        func heads(_ hs: [Int]) -> [Int] { hs.flatMap { h in (h * hd)..<((h + 1) * hd) } }
        func rowsOf(_ pick: (Int) -> [Int], _ get: (DecoderLayer) -> Linear) -> Linear {
            var w: [Float] = [], b: [Float]? = get(l0).bias == nil ? nil : []
            let cols = get(l0).inFeatures
            var n = 0
            for (i, l) in src.enumerated() {
                let lin = get(l)
                for row in pick(i) {
                    w += lin.weight.data[(row * cols)..<((row + 1) * cols)]
                    if let lb = lin.bias { b!.append(lb.data[row]) }
                    n += 1
                }
            }
            return Linear(weight: Tensor(shape: [n, cols], data: w), bias: b.map { Tensor(shape: [n], data: $0) })
        }
        func colsOf(_ pick: (Int) -> [Int], _ get: (DecoderLayer) -> Linear) -> Linear {
            let rows = get(l0).outFeatures
            let picks = src.indices.map(pick)
            let n = picks.reduce(0) { $0 + $1.count }
            var w = [Float](repeating: 0, count: rows * n)
            var c0 = 0
            for (i, l) in src.enumerated() {
                let lw = get(l).weight, inF = lw.shape[1]
                for r in 0..<rows {
                    for (k, c) in picks[i].enumerated() { w[r * n + c0 + k] = lw.data[r * inF + c] }
                }
                c0 += picks[i].count
            }
            return Linear(weight: Tensor(shape: [rows, n], data: w), bias: weightedBias(src.map { get($0).bias }, q))
        }
        let qProj = rowsOf({ heads(plan.keptQueryHeads[$0]) }, \.q)
        let kProj = rowsOf({ heads(plan.keptGroups[$0]) }, \.k)
        let vProj = rowsOf({ heads(plan.keptGroups[$0]) }, \.v)
        let oProj = colsOf({ heads(plan.keptQueryHeads[$0]) }, \.o)
        let gate = l0.gate == nil ? nil : rowsOf({ plan.keptNeurons[$0] }, { $0.gate! })
        let up = rowsOf({ plan.keptNeurons[$0] }, \.up)
        let down = colsOf({ plan.keptNeurons[$0] }, \.down)
        return DecoderLayer(
            attentionNorm: meanNorm(src.map(\.attentionNorm)),
            mlpNorm: meanNorm(src.map(\.mlpNorm)),
            q: qProj, k: kProj, v: vProj, o: oProj,
            qNorm: l0.qNorm.map { weightedNorm(src.map { $0.qNorm! }, q, template: $0) },
            kNorm: l0.kNorm.map { weightedNorm(src.map { $0.kNorm! }, q, template: $0) },
            gate: gate, up: up, down: down, headDim: hd, slidingWindow: l0.slidingWindow)
    }

    /// Merges `plan` into the model: the merged layer at min(positions), the rest removed,
    /// the merge tree updated (§3.9).
    public static func apply(_ model: inout Model, plan: MergePlan) throws {
        let merged = mergedLayer(model, plan: plan)
        if plan.positions.count == 1 { try model.replaceLayer(at: plan.positions[0], with: merged); return }
        try model.replaceLayers(plan.positions, with: merged)
    }

    /// Plain mean over the k layers (weight and, for LayerNorm, bias), in fp32: Σ / k.
    static func meanNorm(_ ns: [Norm]) -> Norm {
        func mean(_ ts: [Tensor]) -> Tensor {
            var s = [Float](repeating: 0, count: ts[0].count)
            for t in ts { for i in 0..<s.count { s[i] += t.data[i] } }
            let k = Float(ts.count)
            return Tensor(shape: ts[0].shape, data: s.map { $0 / k })
        }
        return Norm(kind: ns[0].kind, weight: mean(ns.map(\.weight)), bias: ns[0].bias == nil ? nil : mean(ns.map { $0.bias! }), eps: ns[0].eps)
    }

    /// Σ_i q_i · w_i with q_i rounded to fp32, as torch multiplies an fp32 tensor by a float.
    static func weighted(_ ts: [Tensor], _ q: [Double]) -> Tensor {
        var s = [Float](repeating: 0, count: ts[0].count)
        for (t, w) in zip(ts, q) {
            let f = Float(w)
            for i in 0..<s.count { s[i] += t.data[i] * f }
        }
        return Tensor(shape: ts[0].shape, data: s)
    }

    static func weightedBias(_ bs: [Tensor?], _ q: [Double]) -> Tensor? {
        guard bs.allSatisfy({ $0 != nil }) else { return nil }
        return weighted(bs.map { $0! }, q)
    }

    static func weightedNorm(_ ns: [Norm], _ q: [Double], template: Norm) -> Norm {
        Norm(kind: template.kind, weight: weighted(ns.map(\.weight), q), bias: template.bias == nil ? nil : weighted(ns.map { $0.bias! }, q), eps: template.eps)
    }
}
