// Progressive CoMe, the reference's `concat_merge` loop (reference-algorithms.md §4.8): each
// step re-scores the current model on the same calibration windows, picks the merge window
// by the skip score (bi / sleb / mka), sets the ratios by block_ratio over the current BI,
// and concatenation-merges the window into one layer, until the target depth is reached.
import Foundation
import Transformer

public enum SkipMethod: String, Sendable, CaseIterable {
    case bi, sleb, mka
}

public struct CoMeOptions: Sendable {
    public var targetLayers: Int
    public var skipMethod: SkipMethod = .bi
    /// m = --merge-item: layers merged per step (fewer on the last step to land on the target).
    public var mergeItem = 2
    /// --wo-repeat: windows touching an already merged layer are excluded.
    public var woRepeat = false
    /// p = --psu: the exponent of block_ratio.
    public var psu: Double = 1
    /// μ₀ = --min-max: the ratio floor of the largest share, as μ₀^(1/(leaves−1)).
    public var minMax: Double = 0
    /// Scoring batch (the reference: 2).
    public var batch = 2
    public var behaviour = ReferenceBehaviour.correct
    public var progress: (@Sendable (String, Int, Int) -> Void)? = nil
    public var shouldCancel: (@Sendable () -> Bool)? = nil

    public init(targetLayers: Int, skipMethod: SkipMethod = .bi, mergeItem: Int = 2, woRepeat: Bool = false, psu: Double = 1,
                minMax: Double = 0, batch: Int = 2, behaviour: ReferenceBehaviour = .correct) {
        self.targetLayers = targetLayers; self.skipMethod = skipMethod; self.mergeItem = mergeItem; self.woRepeat = woRepeat
        self.psu = psu; self.minMax = minMax; self.batch = batch; self.behaviour = behaviour
    }
}

/// What one step decided and measured.
public struct CoMeStep: Sendable {
    /// "{L}_to_{max(T, L−m+1)}", the reference's key.
    public var phase: String
    public var layersBefore: Int
    /// Layout after the step.
    public var layout: [MergeNode]
    public var plan: MergePlan
    /// The skip vector after the +inf exclusions.
    public var skip: [Double]
    /// BI of the layers before the merge.
    public var blockInfluence: [Double]
    /// Scores of the model before the merge (channel scores included).
    public var scores: LayerScores
    /// Window indices --wo-repeat wanted to exclude past the end of the skip vector (where
    /// the reference raises IndexError, Q5); skipped here.
    public var droppedExclusions: [Int]
    public var scoringSeconds: Double
    public var skipSeconds: Double
    public var mergeSeconds: Double
}

public enum CoMe {
    /// One merge step on the current model.
    public static func step(_ model: inout Model, windows: CalibrationWindows, options o: CoMeOptions) throws -> CoMeStep {
        let L = model.numLayers, m = o.mergeItem, T = o.targetLayers
        guard m >= 2 else { throw ModelError("--merge-item must be at least 2 (the reference divides by zero at 1, Q4)") }
        guard L > T else { throw ModelError("the model has \(L) layers, not more than the target \(T)") }
        guard m <= L else { throw ModelError("--merge-item \(m) exceeds the \(L) layers") }
        let tScore = Date()
        let target = max(T, L - m + 1)
        let phase = "\(L) → \(target)"
        var so = ScoreOptions(batch: o.batch, mergeItem: m, skipSpan: 2, channels: true, rounding: o.behaviour.scoreRounding)
        if let p = o.progress { so.progress = { d, t in p("\(phase) score", d, t) } }
        so.shouldCancel = o.shouldCancel
        let scores = try Scoring.score(model, windows: windows, options: so)
        let scoringSeconds = Date().timeIntervalSince(tScore)
        let tSkip = Date()
        var skip: [Double]
        switch o.skipMethod {
        case .bi: skip = scores.angularSkip
        case .sleb:
            skip = []
            for i in 0...(L - m) {
                var trial = model
                try trial.removeLayers(Array(i..<(i + m)))
                skip.append(try Losses.calibrationLoss(trial, windows: windows, batch: o.batch, shouldCancel: o.shouldCancel))
                o.progress?("\(phase) sleb skip", i + 1, L - m + 1)
            }
        case .mka:
            // Q8: zeros with the last entry 1, so argmin picks the first window.
            skip = Array(repeating: 0, count: L - m + 1)
            skip[skip.count - 1] = 1
        }
        let skipSeconds = Date().timeIntervalSince(tSkip)
        var dropped: [Int] = []
        if o.woRepeat {
            let merged = model.mergeTree.current.map { if case .group = $0 { return true } else { return false } }
            let (ex, dr) = Budget.woRepeatExclusions(merged, mergeItem: m, windows: skip.count)
            for i in ex { skip[i] = .infinity }
            dropped = dr
        }
        let idx = Budget.firstArgmin(skip)
        let k = L - target + 1
        let positions = Array(idx..<(idx + k))
        guard positions.last! < L else { throw ModelError("merge window \(positions) runs past the last layer \(L - 1)") }
        let leaves = positions.reduce(0) { $0 + model.mergeTree.current[$1].leaves.count }
        let mu = o.minMax == 0 ? 0 : pow(o.minMax, 1 / Double(leaves - 1))
        let ratios = Budget.blockRatio(positions.map { scores.blockInfluence[$0] }, power: o.psu, floor: mu)
        let tMerge = Date()
        let plan = try ConcatMerge.plan(model, positions: positions, ratios: ratios, scores: scores, tiledQueryHeads: o.behaviour.tiledQueryHeads)
        try ConcatMerge.apply(&model, plan: plan)
        return CoMeStep(phase: "\(L)_to_\(target)", layersBefore: L, layout: model.mergeTree.current, plan: plan, skip: skip,
                        blockInfluence: scores.blockInfluence, scores: scores, droppedExclusions: dropped,
                        scoringSeconds: scoringSeconds, skipSeconds: skipSeconds, mergeSeconds: Date().timeIntervalSince(tMerge))
    }

    /// Steps until the target depth; `after` sees each step and the model after it.
    @discardableResult
    public static func run(_ model: inout Model, windows: CalibrationWindows, options o: CoMeOptions,
                           after: ((CoMeStep, Model) throws -> Void)? = nil) throws -> [CoMeStep] {
        var steps: [CoMeStep] = []
        while model.numLayers > o.targetLayers {
            let s = try step(&model, windows: windows, options: o)
            steps.append(s)
            try after?(s, model)
        }
        return steps
    }
}
