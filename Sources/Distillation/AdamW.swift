// AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments),
// a linear warm-up then cosine learning-rate schedule, and clipping by the global gradient
// norm. Parameters are flat Float buffers; the moments are kept per buffer and saved with
// checkpoints so a resumed run continues exactly.
import Foundation
import Tensors

public struct AdamWOptions: Sendable, Equatable {
    public var lr: Double = 1e-4
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8
    public var weightDecay: Double = 0.0
    /// Steps of linear warm-up from 0 to lr; then cosine decay to minLRFraction·lr at totalSteps.
    public var warmupSteps = 0
    public var totalSteps = 1
    public var minLRFraction: Double = 0
    /// Clip the global L2 norm of all gradients to this (0 = no clipping).
    public var clipNorm: Double = 1.0
    public init() {}
}

public final class AdamW {
    public let options: AdamWOptions
    /// Steps taken so far (the next update is step + 1).
    public private(set) var step = 0
    public private(set) var m: [[Float]]
    public private(set) var v: [[Float]]

    public init(sizes: [Int], options: AdamWOptions) {
        self.options = options
        m = sizes.map { [Float](repeating: 0, count: $0) }
        v = sizes.map { [Float](repeating: 0, count: $0) }
    }

    /// The learning rate of update number `t` (1-based).
    public func learningRate(at t: Int) -> Double {
        let o = options
        if o.warmupSteps > 0 && t <= o.warmupSteps { return o.lr * Double(t) / Double(o.warmupSteps) }
        let span = max(1, o.totalSteps - o.warmupSteps)
        let progress = min(1, Double(t - o.warmupSteps) / Double(span))
        let cosine = 0.5 * (1 + cos(Double.pi * progress))
        return o.lr * (o.minLRFraction + (1 - o.minLRFraction) * cosine)
    }

    /// The global L2 norm of the gradients (float64 accumulation).
    public static func globalNorm(_ grads: [[Float]]) -> Double {
        var s = 0.0
        for g in grads { for x in g { s += Double(x) * Double(x) } }
        return s.squareRoot()
    }

    /// One update of every parameter buffer in place. Returns the learning rate used and
    /// the gradient norm before clipping.
    @discardableResult
    public func update(_ params: inout [[Float]], grads: [[Float]]) -> (lr: Double, gradNorm: Double) {
        precondition(params.count == m.count && grads.count == m.count, "AdamW: buffer count changed")
        step += 1
        let o = options
        let lr = learningRate(at: step)
        let norm = AdamW.globalNorm(grads)
        let clip = o.clipNorm > 0 && norm > o.clipNorm ? Float(o.clipNorm / (norm + 1e-6)) : 1
        let b1 = Float(o.beta1), b2 = Float(o.beta2)
        let c1 = Float(1 - pow(o.beta1, Double(step))), c2 = Float(1 - pow(o.beta2, Double(step)))
        let decay = Float(1 - lr * o.weightDecay), flr = Float(lr), eps = Float(o.eps)
        for k in params.indices {
            let n = params[k].count
            precondition(grads[k].count == n && m[k].count == n, "AdamW: buffer \(k) changed size")
            params[k].withUnsafeMutableBufferPointer { p in
                m[k].withUnsafeMutableBufferPointer { mp in
                    v[k].withUnsafeMutableBufferPointer { vp in
                        grads[k].withUnsafeBufferPointer { gp in
                            let chunks = min(Threads.count, max(1, n >> 15))
                            Threads.parallelFor(chunks) { ch in
                                for i in (ch * n / chunks)..<((ch + 1) * n / chunks) {
                                    let g = gp[i] * clip
                                    p[i] *= decay
                                    mp[i] = b1 * mp[i] + (1 - b1) * g
                                    vp[i] = b2 * vp[i] + (1 - b2) * g * g
                                    let mh = mp[i] / c1, vh = vp[i] / c2
                                    p[i] -= flr * mh / (vh.squareRoot() + eps)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (lr, norm)
    }

    /// The state a checkpoint keeps: the step and both moments.
    public func state() -> (step: Int, m: [[Float]], v: [[Float]]) { (step, m, v) }

    public func restore(step: Int, m: [[Float]], v: [[Float]]) throws {
        guard m.count == self.m.count, v.count == self.v.count,
              zip(m, self.m).allSatisfy({ $0.count == $1.count }), zip(v, self.v).allSatisfy({ $0.count == $1.count }) else {
            throw DistillationError("the checkpoint's optimiser state does not fit these parameters")
        }
        self.step = step; self.m = m; self.v = v
    }
}

public struct DistillationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
