// Layer and channel scores from one batched pass over the calibration windows
// (reference-algorithms.md §3.2 block influence and angular skip score, §3.4 channel
// sensitivity of MLP neurons and KV head groups), with the reference's normalisations.
import Foundation
import Tensors
import Transformer

/// Calibration windows: equal-length token rows and their attention masks.
public struct CalibrationWindows: Sendable {
    public var ids: [[Int]]
    /// nil = every token real.
    public var masks: [[Int]]?
    public var seqlen: Int { ids.first?.count ?? 0 }
    public var count: Int { ids.count }

    public init(ids: [[Int]], masks: [[Int]]? = nil) {
        self.ids = ids
        // A mask of all ones changes nothing; dropping it keeps the attention fast path.
        self.masks = masks.flatMap { m in m.allSatisfy { $0.allSatisfy { $0 == 1 } } ? nil : m }
    }

    /// Windows [i, j) as one batch.
    func batch(_ r: Range<Int>) -> (ids: [[Int]], mask: [[Int]]?) {
        (Array(ids[r]), masks.map { Array($0[r]) })
    }
}

public struct ScoreOptions: Sendable {
    /// Windows per forward pass (the reference: 2 for concat_merge, 1 for ShortGPT).
    public var batch = 2
    /// The skip vector has L − mergeItem + 1 entries (§4.8 step 1).
    public var mergeItem = 2
    /// Angular span: input of layer i against the output of layer i + span − 1 (Q4: 2).
    public var skipSpan = 2
    /// Angular score over every token instead of each window's last (concat_merge_P).
    public var skipAllTokens = false
    /// Neuron and head-group sensitivities (needs the probes).
    public var channels = true
    public var rounding: DTypeRounding = .none
    public var progress: (@Sendable (Int, Int) -> Void)? = nil
    public var shouldCancel: (@Sendable () -> Bool)? = nil

    public init(batch: Int = 2, mergeItem: Int = 2, skipSpan: Int = 2, skipAllTokens: Bool = false, channels: Bool = true,
                rounding: DTypeRounding = .none) {
        self.batch = batch; self.mergeItem = mergeItem; self.skipSpan = skipSpan
        self.skipAllTokens = skipAllTokens; self.channels = channels; self.rounding = rounding
    }
}

/// Scores of the current layers, normalised as the reference reports them.
public struct LayerScores: Sendable {
    /// BI[ℓ], ℓ = 0..L−1: Σ over windows and tokens of 1 − cos(h_ℓ, h_ℓ₊₁), divided by L.
    public var blockInfluence: [Double]
    /// SBI[i], i = 0..L−m: Σ over windows of arccos(cos(h_i, h_i₊span))/π at the last token,
    /// divided by L − m + 1.
    public var angularSkip: [Double]
    /// N_ℓ [F]: mean over windows of the token mean of |a|·‖W_down[:, j]‖₁.
    public var neuron: [[Float]]
    /// G_ℓ [Hkv]: the same over o_proj inputs, averaged over each KV group's r·d channels.
    public var headGroup: [[Float]]
    public var windows: Int
    public var seconds: Double

    public init(blockInfluence: [Double], angularSkip: [Double], neuron: [[Float]], headGroup: [[Float]], windows: Int, seconds: Double = 0) {
        self.blockInfluence = blockInfluence; self.angularSkip = angularSkip
        self.neuron = neuron; self.headGroup = headGroup; self.windows = windows; self.seconds = seconds
    }
}

public enum Scoring {
    /// One pass over `windows` in batches: BI, angular skip and (optionally) channel scores.
    public static func score(_ model: Model, windows: CalibrationWindows, options o: ScoreOptions = ScoreOptions()) throws -> LayerScores {
        let t0 = Date()
        let L = model.numLayers, H = model.hiddenSize
        guard windows.count > 0 else { throw ModelError("scoring needs at least one calibration window") }
        guard o.mergeItem >= 1, o.mergeItem <= L else { throw ModelError("merge item \(o.mergeItem) outside 1...\(L)") }
        let nSkip = L - o.mergeItem + 1
        var bi = [Double](repeating: 0, count: L)
        var sbi = [Double](repeating: 0, count: nSkip)
        let rho = o.rounding
        let isOPT = model.config.architecture == .opt
        // ‖W[:, j]‖₁ of every down_proj / o_proj, rounded to the model dtype as the reference's probes are.
        let downL1 = o.channels ? model.layers.map { columnL1($0.down.weight, rho) } : []
        let oL1 = o.channels ? model.layers.map { columnL1($0.o.weight, rho) } : []
        // Sums of per-window (OPT: per-batch) token means, in Double; divided at the end.
        var neuronAcc = o.channels ? model.layers.map { [Double](repeating: 0, count: $0.intermediateSize) } : []
        var headAcc = o.channels ? model.layers.map { [Double](repeating: 0, count: $0.numKVHeads) } : []
        var neuronUnits = 0, headUnits = 0
        var i = 0
        while i < windows.count {
            if let c = o.shouldCancel, c() { throw ForwardCancelled() }
            let j = min(windows.count, i + max(1, o.batch))
            let (ids, mask) = windows.batch(i..<j)
            let B = j - i, T = ids[0].count
            var opts = ForwardOptions(attentionMask: mask, hiddenStates: true, downProjInputs: o.channels, oProjInputs: o.channels, logits: .none)
            opts.shouldCancel = o.shouldCancel
            let r = try model.forward(ids, options: opts)
            let hs = r.hiddenStates!
            // Block influence: every token of the batch, one per-batch sum (rounded once).
            var biBatch = [Double](repeating: 0, count: L)
            biBatch.withUnsafeMutableBufferPointer { bp in
                Threads.parallelFor(L) { l in
                    var s: Double = 0
                    hs[l].data.withUnsafeBufferPointer { x in
                        hs[l + 1].data.withUnsafeBufferPointer { y in
                            for t in 0..<(B * T) {
                                s += Double(cosineTerm(x.baseAddress! + t * H, y.baseAddress! + t * H, H, angular: false, rho))
                            }
                        }
                    }
                    bp[l] = Double(rho(Float(s)))
                }
            }
            for l in 0..<L { bi[l] += biBatch[l] }
            // Angular skip score: the last token of each window (or all of them).
            for s in 0..<nSkip where s + o.skipSpan <= L {
                var acc: Double = 0
                hs[s].data.withUnsafeBufferPointer { x in
                    hs[s + o.skipSpan].data.withUnsafeBufferPointer { y in
                        for b in 0..<B {
                            let ts = o.skipAllTokens ? Array(0..<T) : [T - 1]
                            for t in ts {
                                let off = (b * T + t) * H
                                acc += Double(cosineTerm(x.baseAddress! + off, y.baseAddress! + off, H, angular: true, rho))
                            }
                        }
                    }
                }
                sbi[s] += Double(rho(Float(acc)))
            }
            if o.channels {
                let downs = r.downProjInputs!, oins = r.oProjInputs!
                neuronAcc.withUnsafeMutableBufferPointer { neuronOut in
                headAcc.withUnsafeMutableBufferPointer { headOut in
                Threads.parallelFor(L) { l in
                    let F = model.layers[l].intermediateSize
                    // OPT flattens its MLP tokens, so its neuron mean is per batch (Q10).
                    let groups = isOPT ? [(0..<(B * T))] : (0..<B).map { ($0 * T)..<(($0 + 1) * T) }
                    var acc = neuronOut[l]
                    downs[l].data.withUnsafeBufferPointer { a in
                        downL1[l].withUnsafeBufferPointer { c in
                            for g in groups {
                                var sums = [Double](repeating: 0, count: F)
                                for t in g {
                                    let row = a.baseAddress! + t * F
                                    for f in 0..<F { sums[f] += Double(rho(abs(row[f]) * c[f])) }
                                }
                                // The per-window mean is an fp32 tensor in the reference.
                                for f in 0..<F { acc[f] += Double(Float(sums[f] / Double(g.count))) }
                            }
                        }
                    }
                    neuronOut[l] = acc
                    let layer = model.layers[l]
                    let nkv = layer.numKVHeads, width = layer.numHeads * layer.headDim, per = width / nkv
                    var hacc = headOut[l]
                    oins[l].data.withUnsafeBufferPointer { a in
                        oL1[l].withUnsafeBufferPointer { c in
                            for b in 0..<B {
                                var sums = [Double](repeating: 0, count: nkv)
                                for t in 0..<T {
                                    let row = a.baseAddress! + (b * T + t) * width
                                    for g in 0..<nkv {
                                        var s: Double = 0
                                        for ch in (g * per)..<((g + 1) * per) { s += Double(rho(abs(row[ch]) * c[ch])) }
                                        sums[g] += Double(Float(s / Double(per)))
                                    }
                                }
                                for g in 0..<nkv { hacc[g] += Double(Float(sums[g] / Double(T))) }
                            }
                        }
                    }
                    headOut[l] = hacc
                }
                }
                }
                neuronUnits += isOPT ? 1 : B
                headUnits += B
            }
            i = j
            o.progress?(i, windows.count)
        }
        let neuron = neuronAcc.map { $0.map { Float($0 / Double(neuronUnits)) } }
        let heads = headAcc.map { $0.map { Float($0 / Double(headUnits)) } }
        return LayerScores(blockInfluence: bi.map { $0 / Double(L) }, angularSkip: sbi.map { $0 / Double(nSkip) },
                           neuron: neuron, headGroup: heads, windows: windows.count, seconds: Date().timeIntervalSince(t0))
    }

    /// ‖W[:, j]‖₁ for a [out, in] weight, rounded once.
    static func columnL1(_ w: Tensor, _ rho: DTypeRounding) -> [Float] {
        let rows = w.shape[0], cols = w.shape[1]
        var s = [Double](repeating: 0, count: cols)
        w.data.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                let row = p.baseAddress! + r * cols
                for c in 0..<cols { s[c] += Double(abs(row[c])) }
            }
        }
        return s.map { rho(Float($0)) }
    }

    /// 1 − c (cosine variant) or arccos(c)/π (angular), with c = cos(x, y), NaN → 0.5 and
    /// c clamped to [0, 1] (§3.2). With a rounding, each step is rounded as the reference's
    /// half-precision arithmetic is; otherwise the dot products are exact-ish (Double).
    @inline(__always)
    static func cosineTerm(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int, angular: Bool, _ rho: DTypeRounding) -> Float {
        var c: Float
        if rho == .none {
            var dot: Double = 0, nx: Double = 0, ny: Double = 0
            for k in 0..<n {
                let a = Double(x[k]), b = Double(y[k])
                dot += a * b; nx += a * a; ny += b * b
            }
            c = Float(dot / (nx.squareRoot() * ny.squareRoot()))
        } else {
            var dot: Float = 0, nx: Float = 0, ny: Float = 0
            for k in 0..<n {
                let a = rho(x[k]), b = rho(y[k])
                dot += a * b; nx += a * a; ny += b * b
            }
            let den = rho(rho(nx.squareRoot()) * rho(ny.squareRoot()))
            c = rho(rho(dot) / den)
        }
        if c.isNaN { c = 0.5 }
        c = min(max(c, 0), 1)
        if angular { return rho(rho(acos(c)) / Float.pi) }
        return rho(1 - c)
    }
}
