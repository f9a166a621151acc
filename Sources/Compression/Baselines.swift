// The layer-removal baselines of the reference toolkit (reference-algorithms.md §4.1 SLEB,
// §4.2 ShortGPT, §4.3 Reverse, §4.4 Taylor/Taylor+, §4.5 Magnitude/Magnitude+) and the calibration loss they
// share (§3.3). Each returns its decisions; removing and saving is the caller's.
import Foundation
import Tensors
import Transformer

public enum Losses {
    /// §3.3: Σ over batches of (mean shifted cross-entropy of the batch) · S · n_b, pads included.
    public static func calibrationLoss(_ model: Model, windows: CalibrationWindows, batch: Int,
                                       shouldCancel: (@Sendable () -> Bool)? = nil) throws -> Double {
        let H = model.hiddenSize
        var total: Double = 0
        var i = 0
        while i < windows.count {
            let j = min(windows.count, i + max(1, batch))
            let (ids, mask) = windows.batch(i..<j)
            let T = ids[0].count
            var opts = ForwardOptions(attentionMask: mask, logits: .none)
            opts.shouldCancel = shouldCancel
            let r = try model.forward(ids, options: opts)
            var sum: Double = 0
            for (b, row) in ids.enumerated() {
                let hs = Array(r.finalNormOutput.data[(b * T * H)..<((b * T + T - 1) * H)])
                sum += model.tokenNLL(normedHidden: hs, rows: T - 1, targets: Array(row.dropFirst())).reduce(0, +)
            }
            let mean = sum / Double((j - i) * (T - 1))
            total += Double(Float(mean) * Float(T) * Float(j - i))
            i = j
        }
        return total
    }
}

public enum Reduction: String, Sendable, CaseIterable {
    /// `prob` is the reference's name for the product (LLM-Pruner's `prod`); the reference
    /// crashes on it and on `max` (Q14), which are implemented here as named.
    case sum, mean, max, prob

    func apply(_ v: [Double]) -> Double {
        switch self {
        case .sum: return v.reduce(0, +)
        case .mean: return v.reduce(0, +) / Double(v.count)
        case .max: return v.max() ?? 0
        case .prob: return v.reduce(1, *)
        }
    }
}

public enum Baselines {
    // MARK: ShortGPT

    /// ShortGPT's BI (§4.2): the cosine block influence over all windows, batch 1, / L.
    public static func shortGPTScores(_ model: Model, windows: CalibrationWindows, rounding: DTypeRounding = .none,
                                      progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [Double] {
        var o = ScoreOptions(batch: 1, mergeItem: 1, skipSpan: 1, channels: false, rounding: rounding)
        o.progress = progress
        return try Scoring.score(model, windows: windows, options: o).blockInfluence
    }

    /// A stable ascending sort: ties keep the lower index first (§8.2 point 3).
    public static func ascendingOrder(_ scores: [Double]) -> [Int] {
        scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }

    // MARK: Reverse

    /// `[L−1, …, 0]` with every retained index moved to the end in the order given (§4.3).
    public static func reverseOrder(layers L: Int, retain: [Int]) throws -> [Int] {
        var order = Array((0..<L).reversed())
        for r in retain {
            guard let i = order.firstIndex(of: r) else { throw ModelError("the retain layer index \(r) is not in the model (0..\(L - 1))") }
            order.remove(at: i)
            order.append(r)
        }
        return order
    }

    // MARK: Magnitude

    /// Magnitude(+) scores (§4.5): per layer, |Θ| row sums of each projection weight and |θ|
    /// of each norm weight, reduced by `weight`, then by `block`; added once per calibration
    /// window (the reference's data-independent loop) and divided by L.
    public static func magnitudeScores(_ model: Model, windows: Int, weight: Reduction, block: Reduction,
                                       rounding rho: DTypeRounding = .none) -> [Double] {
        let L = model.numLayers
        return model.layers.map { layer in
            var values: [Double] = []
            for t in magnitudeTensors(layer, opt: model.config.architecture == .opt) {
                let v: [Double]
                if t.rank == 2 {
                    let cols = t.shape[1]
                    v = (0..<t.shape[0]).map { r in
                        var s: Double = 0
                        for c in 0..<cols { s += Double(abs(t.data[r * cols + c])) }
                        return Double(rho(Float(s)))
                    }
                } else {
                    v = t.data.map { Double(rho(abs($0))) }
                }
                // Each value is a Python float from an fp32 (or half) tensor's .item().
                values.append(Double(rho(Float(weight.apply(v)))))
            }
            // torch.tensor(block_info) is float32.
            let b = Double(Float(block.apply(values.map { Double(Float($0)) })))
            var acc: Double = 0
            for _ in 0..<windows { acc += b }
            return acc / Double(L)
        }
    }

    // MARK: Taylor

    /// Taylor(+) scores (§4.4): per window (batch 1) the gradient of the mean shifted
    /// cross-entropy; per layer, row sums of |Θ ⊙ G| for each scored matrix and |θ ⊙ g| for
    /// each norm vector, reduced by `weight`, then by `block`, added up over the windows and
    /// divided by L. With `accumulate` (the reference, Q15) G is the running sum of the
    /// gradients of windows 1..w, never zeroed; otherwise each window's own gradient.
    public static func taylorScores(_ model: Model, windows: CalibrationWindows, weight: Reduction, block: Reduction,
                                    accumulate: Bool = false, rounding rho: DTypeRounding = .none,
                                    progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [Double] {
        let L = model.numLayers, opt = model.config.architecture == .opt
        var scores = [Double](repeating: 0, count: L)
        var running: Model? = nil
        for w in 0..<windows.count {
            let (ids, mask) = windows.batch(w..<(w + 1))
            var (_, g) = try model.backward(ids, mask: mask)
            if accumulate {
                if var r = running { r.addParameters(g); g = r }
                running = g
            }
            for (l, layer) in model.layers.enumerated() {
                var values: [Double] = []
                for (t, d) in zip(magnitudeTensors(layer, opt: opt), magnitudeTensors(g.layers[l], opt: opt)) {
                    let cols = t.rank == 2 ? t.shape[1] : 1
                    let v: [Double] = (0..<(t.count / cols)).map { r in
                        var s: Double = 0
                        for c in 0..<cols { s += Double(rho(abs(t.data[r * cols + c] * d.data[r * cols + c]))) }
                        return Double(rho(Float(s)))
                    }
                    values.append(Double(rho(Float(weight.apply(v)))))
                }
                scores[l] += Double(Float(block.apply(values.map { Double(Float($0)) })))
            }
            progress?(w + 1, windows.count)
        }
        return scores.map { $0 / Double(L) }
    }

    /// The parameters the reference scores, in definition order: names with "proj" and
    /// "weight", or "norm" and "weight" (OPT's fc1/fc2 never match, Q15).
    static func magnitudeTensors(_ l: DecoderLayer, opt: Bool) -> [Tensor] {
        if opt {
            return [l.k.weight, l.v.weight, l.q.weight, l.o.weight, l.attentionNorm.weight, l.mlpNorm.weight]
        }
        var ts = [l.q.weight, l.k.weight, l.v.weight, l.o.weight]
        if let qn = l.qNorm { ts.append(qn.weight) }
        if let kn = l.kNorm { ts.append(kn.weight) }
        if let g = l.gate { ts.append(g.weight) }
        ts += [l.up.weight, l.down.weight, l.attentionNorm.weight, l.mlpNorm.weight]
        return ts
    }

    /// Ascending order, then with `heuristic` the first four and last two layers moved to
    /// the end in the order [0, 1, 2, 3, L−2, L−1] (duplicates dropped for L < 6).
    public static func magnitudeOrder(_ scores: [Double], heuristic: Bool) -> [Int] {
        var order = ascendingOrder(scores)
        guard heuristic else { return order }
        let L = scores.count
        var keep: [Int] = []
        for i in Array(0..<min(4, L)) + Array(max(0, L - 2)..<L) where !keep.contains(i) { keep.append(i) }
        order.removeAll { keep.contains($0) }
        return order + keep
    }

    /// Translates original indices removed one at a time into current positions.
    public static func currentPosition(of original: Int, removedBefore: [Int]) -> Int {
        original - removedBefore.filter { $0 < original }.count
    }

    // MARK: SLEB

    public struct SLEBPhase: Sendable {
        /// Loss with each alive layer removed, by original index (nil: removed earlier).
        public var losses: [Double?]
        /// The original index removed in this phase.
        public var removed: Int
        /// Original indices removed so far.
        public var removeOrder: [Int]
        public var seconds: Double
    }

    /// One SLEB phase (§4.1): try removing each current layer, remove the first with the
    /// strictly smallest calibration loss. `alive` maps current positions to original indices.
    public static func slebPhase(_ model: inout Model, alive: inout [Int], originalCount: Int, removedSoFar: [Int],
                                 windows: CalibrationWindows, batch: Int = 1,
                                 progress: (@Sendable (Int, Int) -> Void)? = nil,
                                 shouldCancel: (@Sendable () -> Bool)? = nil) throws -> SLEBPhase {
        let t0 = Date()
        var losses = [Double?](repeating: nil, count: originalCount)
        var best = -1, bestLoss = Double.infinity
        for j in 0..<model.numLayers {
            var trial = model
            try trial.removeLayers([j])
            let loss = try Losses.calibrationLoss(trial, windows: windows, batch: batch, shouldCancel: shouldCancel)
            losses[alive[j]] = loss
            if loss < bestLoss { bestLoss = loss; best = j }
            progress?(j + 1, model.numLayers)
        }
        guard best >= 0 else { throw ModelError("SLEB: every trial loss is NaN or +inf") }
        let removed = alive[best]
        try model.removeLayers([best])
        alive.remove(at: best)
        return SLEBPhase(losses: losses, removed: removed, removeOrder: removedSoFar + [removed], seconds: Date().timeIntervalSince(t0))
    }
}
