// CoMe's third step, hierarchical distillation: each merged student layer is trained to do
// the work of the original layers it replaced. The merge tree gives the correspondence:
// student layer k holds original layers a…b, so its input is the teacher's hidden state
// entering layer a and its target the teacher's hidden state leaving layer b (an untouched
// layer maps to itself).
//
// Modes: `local` (the paper's Figure 1) trains every merged layer alone on teacher input →
// teacher target pairs, one layer's activations in memory at a time; `sequential` trains
// the layers in order, each on the *student's* own output of the layers before it, so an
// error upstream is seen and corrected downstream.
import Corpora
import Evaluation
import Foundation
import Tensors
import Transformer

public enum DistillMode: String, Sendable, CaseIterable { case local, sequential, global }

/// A weighted sum of per-token objectives between student and teacher hidden states.
public struct DistillLoss: Sendable, Equatable, CustomStringConvertible {
    public enum Term: String, Sendable, CaseIterable {
        case kl, mse, cosine
        /// KL between next-token distributions read through the final norm and LM head.
        case klLogits = "kl-logits"
    }
    public var terms: [(term: Term, weight: Double)]
    /// Temperature of the KL term's softmaxes (over the hidden dimension).
    public var temperature: Double

    public init(terms: [(Term, Double)], temperature: Double = 1) {
        self.terms = terms.map { (term: $0.0, weight: $0.1) }; self.temperature = temperature
    }

    /// "kl", "mse", "kl+0.5*mse", "0.7*kl+0.3*cosine".
    public init(parse s: String, temperature: Double = 1) throws {
        var out: [(Term, Double)] = []
        for part in s.split(separator: "+").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let pieces = part.split(separator: "*").map { $0.trimmingCharacters(in: .whitespaces) }
            let (w, name): (Double, String) = pieces.count == 2 ? (Double(pieces[0]) ?? .nan, pieces[1]) : (1, pieces.first ?? "")
            guard let t = Term(rawValue: name), w.isFinite, w > 0 else {
                throw DistillationError("loss `\(s)`: terms are kl, kl-logits, mse, cosine with optional positive weights, as \"kl+0.5*mse\"")
            }
            out.append((t, w))
        }
        guard !out.isEmpty else { throw DistillationError("loss is empty") }
        self.init(terms: out, temperature: temperature)
    }

    public var description: String {
        terms.map { $0.weight == 1 ? $0.term.rawValue : "\($0.weight)*\($0.term.rawValue)" }.joined(separator: "+")
    }

    public static func == (a: DistillLoss, b: DistillLoss) -> Bool { a.description == b.description && a.temperature == b.temperature }

    /// The objective and its gradient with respect to the student's rows [rows, H].
    func evaluate(student: [Float], teacher: [Float], cols: Int, model: Model? = nil) -> (loss: Double, grad: [Float]) {
        var total = 0.0
        var grad = [Float](repeating: 0, count: student.count)
        for (t, w) in terms {
            let (l, g): (Double, [Float])
            switch t {
            case .kl:
                let r = Objectives.klDivergence(student: student, teacher: teacher, cols: cols, temperature: Float(temperature))
                (l, g) = (r.loss, r.dStudent)
            case .mse:
                let r = Objectives.meanSquaredError(student, teacher)
                (l, g) = (r.loss, r.dA)
            case .cosine:
                let r = Objectives.cosineDistance(student, teacher, cols: cols)
                (l, g) = (r.loss, r.dA)
            case .klLogits:
                guard let m = model else { preconditionFailure("kl-logits needs the model's final norm and head") }
                let r = m.logitKL(student: student, teacher: teacher, rows: student.count / cols, temperature: Float(temperature))
                (l, g) = (r.loss, r.dStudent)
            }
            total += w * l
            let fw = Float(w)
            for i in grad.indices { grad[i] += fw * g[i] }
        }
        return (total, grad)
    }
}

public struct DistillOptions: Sendable {
    public var mode: DistillMode = .local
    /// MSE by default: KL over the hidden dimension (the paper's figure) saturates on models
    /// with massive activations, where softmax(h) is one-hot on an outlier channel
    /// (tutorials/reference/distillation.md gives the numbers).
    public var loss = DistillLoss(terms: [(.mse, 1)])
    public var trainable: Trainable = .all
    /// Optimiser steps per layer; each step averages `accumulate` micro-batches of
    /// `microBatch` windows.
    public var steps = 100
    public var microBatch = 1
    public var accumulate = 1
    public var optimiser = AdamWOptions()
    public var seed: UInt64 = 0
    /// Train only merged layers (default) or every layer.
    public var allLayers = false
    /// The global stage: end-to-end KL between the teacher's and the student's next-token
    /// distributions at this temperature, for `globalSteps` steps (mode `global`: the only
    /// stage, with `steps`; after local or sequential: 0 = none).
    public var globalSteps = 0
    public var globalTemperature: Double = 1
    /// Write a checkpoint every N optimiser steps (0 = never) into `checkpointDirectory`.
    public var checkpointEvery = 0
    public var checkpointDirectory: URL? = nil
    public init() { optimiser.lr = 2e-4; optimiser.warmupSteps = 10 }
}

/// Per student layer: which original layers it holds, and how its loss went. The global
/// stage reports as position −1, with the student layers it trained as `originals` and the
/// KL between next-token distributions as its loss.
public struct LayerReport: Sendable {
    public var position: Int
    public var originals: [Int]
    public var lossBefore: Double
    public var lossAfter: Double
    /// The training objective at every step (mean over that step's micro-batches).
    public var curve: [Double]
    public var seconds: Double
    public var tokens: Int
}

public struct DistillReport: Sendable {
    public var mode: DistillMode
    public var options: String
    public var layers: [LayerReport]
    public var perplexityBefore: Double?
    public var perplexityAfter: Double?
    public var seconds: Double
    public var tokens: Int
    public var peakMemoryBytes: Int
    public var tokensPerSecond: Double { Double(tokens) / max(seconds, 1e-9) }
}

/// Progress of a distillation: layer i of n, step s of S, the step's loss and learning rate.
public struct DistillProgress: Sendable {
    public var layer: Int
    public var layers: Int
    public var step: Int
    public var steps: Int
    public var loss: Double
    public var lr: Double
    public var tokensPerSecond: Double
}

public enum Distiller {
    /// The student layers to train and the original layers each holds.
    public static func correspondence(_ student: Model, teacherLayers: Int, allLayers: Bool) throws -> [(position: Int, first: Int, last: Int)] {
        var out: [(Int, Int, Int)] = []
        for (k, node) in student.mergeTree.current.enumerated() {
            let leaves = node.leaves.sorted()
            guard let a = leaves.first, let b = leaves.last, b < teacherLayers else {
                throw DistillationError("student layer \(k) holds original layers \(node) outside the teacher's 0..<\(teacherLayers)")
            }
            if leaves.count > 1 || allLayers { out.append((k, a, b)) }
        }
        return out
    }

    /// The teacher's residual stream at every layer boundary the pairs need: index i is the
    /// state entering original layer i (i = L: leaving the last layer), [windows][T·H].
    static func teacherStates(_ teacher: Model, windows: [[Int]], needed: Set<Int>,
                              shouldCancel: (@Sendable () -> Bool)?) throws -> [Int: [[Float]]] {
        var states: [Int: [[Float]]] = [:]
        for w in windows {
            var opts = ForwardOptions(hiddenStates: needed.contains(0), layerOutputs: true, logits: .none)
            opts.shouldCancel = shouldCancel
            let r = try teacher.forward([w], options: opts)
            for i in needed {
                // Entering layer 0 is the embedding output; entering layer i > 0 is layer i−1's raw output.
                let s = i == 0 ? r.hiddenStates![0].data : r.layerOutputs![i - 1].data
                states[i, default: []].append(s)
            }
        }
        return states
    }

    /// Distils `student` against `teacher` on `windows` (token ids, [N][T]); `heldOut`
    /// windows, when given, measure perplexity before and after.
    public static func run(student: Model, teacher: Model, windows: [[Int]], heldOut: [[Int]]? = nil,
                           options o: DistillOptions, resume: Bool = false,
                           progress: ((DistillProgress) -> Void)? = nil,
                           shouldCancel: (@Sendable () -> Bool)? = nil) throws -> (model: Model, report: DistillReport) {
        guard !windows.isEmpty, let T = windows.first?.count, T > 0, windows.allSatisfy({ $0.count == T }) else {
            throw DistillationError("distillation needs at least one window, all of one length")
        }
        guard student.hiddenSize == teacher.hiddenSize, student.vocabSize == teacher.vocabSize else {
            throw DistillationError("student and teacher differ in hidden size or vocabulary")
        }
        guard o.steps >= 1, o.microBatch >= 1, o.accumulate >= 1 else { throw DistillationError("steps, micro-batch and accumulation must be at least 1") }
        let start = Date()
        let pairs = try correspondence(student, teacherLayers: teacher.numLayers, allLayers: o.allLayers)
        var needed = Set<Int>()
        for p in pairs { needed.insert(p.first); needed.insert(p.last + 1) }
        if o.mode == .sequential { needed.insert(0) }
        if o.mode == .global { needed = [] }
        let states = try teacherStates(teacher, windows: windows, needed: needed, shouldCancel: shouldCancel)
        let pplBefore = try heldOut.map { try Perplexity.evaluate(student, windows: $0, shouldCancel: shouldCancel).perplexity }

        var model = student
        let H = model.hiddenSize
        let context = try model.layerContext(batch: 1, length: T)
        let B = min(o.microBatch, windows.count)
        let batchContext = B == 1 ? context : try model.layerContext(batch: B, length: T)
        var reports: [LayerReport] = []
        var tokens = 0
        var firstLayer = 0, firstStep = 0
        var resumed: Checkpoint? = nil
        if resume {
            guard let dir = o.checkpointDirectory else { throw DistillationError("--resume needs a checkpoint folder") }
            let c = try Checkpoint.load(dir, options: o, student: student)
            (firstLayer, firstStep) = (c.layerIndex, c.step)
            for (k, l) in c.finishedLayers { try model.replaceLayer(at: k, with: l) }
            reports = c.reports
            resumed = c
        }
        // Sequential: the student's own stream entering each layer, advanced as layers finish.
        var studentStream: [[Float]]? = o.mode == .sequential ? states[0] : nil
        var streamPosition = 0
        if o.mode == .sequential, firstLayer > 0 || firstStep > 0, firstLayer < pairs.count {
            streamPosition = pairs[firstLayer].position
            studentStream = try advance(states[0]!, model: model, from: 0, to: streamPosition, context: context)
        }
        for (li, pair) in pairs.enumerated() where li >= firstLayer && o.mode != .global {
            if let c = shouldCancel, c() { throw ForwardCancelled() }
            let t0 = Date()
            // Inputs: teacher's (local) or the student's own (sequential); target: the teacher's.
            let inputs: [[Float]]
            if o.mode == .sequential {
                studentStream = try advance(studentStream!, model: model, from: streamPosition, to: pair.position, context: context)
                streamPosition = pair.position
                inputs = studentStream!
            } else {
                inputs = states[pair.first]!
            }
            let targets = states[pair.last + 1]!
            var layer = model.layers[pair.position]
            var set = TrainableSet(layer, o.trainable, seed: o.seed &+ UInt64(pair.position))
            let opt = AdamW(sizes: set.buffers.map(\.count), options: {
                var a = o.optimiser
                a.totalSteps = o.steps
                return a
            }())
            var rng = SplitMix64(seed: o.seed &+ 0x9E37 &* UInt64(pair.position + 1))
            var order: [Int] = []
            var curve: [Double] = []
            var stepStart = 0
            var before = Double.nan
            if let c = resumed, li == firstLayer, firstStep > 0 {
                before = c.currentBefore
                set.buffers = c.buffers
                try opt.restore(step: c.step, m: c.m, v: c.v)
                rng = SplitMix64(seed: c.rngState)
                order = c.order
                curve = c.curve
                stepStart = c.step
                set.apply(to: &layer)
            }
            if before.isNaN { before = try objective(model, layer, inputs: inputs, targets: targets, loss: o.loss, context: context) }
            var tokensThisLayer = 0
            let tStep = Date()
            for step in stepStart..<o.steps {
                if let c = shouldCancel, c() { throw ForwardCancelled() }
                var sum = GradientSum()
                var stepLoss = 0.0
                for _ in 0..<o.accumulate {
                    let batch = nextBatch(B, of: windows.count, order: &order, rng: &rng)
                    let x = batch.flatMap { inputs[$0] }, y = batch.flatMap { targets[$0] }
                    let (out, tape) = model.layerForwardSaving(layer, x: x, context: batchContext)
                    let (l, g) = o.loss.evaluate(student: out, teacher: y, cols: H, model: model)
                    let (_, grads) = model.layerBackward(layer, tape: tape, dOutput: g, context: batchContext)
                    sum.add(set.gradients(from: grads))
                    stepLoss += l
                    tokensThisLayer += B * T
                }
                let (lr, _) = opt.update(&set.buffers, grads: sum.mean())
                set.apply(to: &layer)
                curve.append(stepLoss / Double(o.accumulate))
                let rate = Double(tokensThisLayer) / max(Date().timeIntervalSince(tStep), 1e-9)
                progress?(DistillProgress(layer: li + 1, layers: pairs.count, step: step + 1, steps: o.steps,
                                          loss: curve.last!, lr: lr, tokensPerSecond: rate))
                if o.checkpointEvery > 0, let dir = o.checkpointDirectory, (step + 1) % o.checkpointEvery == 0, step + 1 < o.steps {
                    try model.replaceLayer(at: pair.position, with: layer)
                    let st = opt.state()
                    try Checkpoint(layerIndex: li, step: step + 1, buffers: set.buffers, m: st.m, v: st.v, rngState: rng.state,
                                   order: order, curve: curve, currentBefore: before, reports: reports,
                                   finishedLayers: pairs[..<li].map { ($0.position, model.layers[$0.position]) })
                        .save(dir, options: o, student: student, current: (pair.position, layer))
                }
            }
            try model.replaceLayer(at: pair.position, with: layer)
            let after = try objective(model, layer, inputs: inputs, targets: targets, loss: o.loss, context: context)
            tokens += tokensThisLayer
            reports.append(LayerReport(position: pair.position, originals: Array(pair.first...pair.last), lossBefore: before,
                                       lossAfter: after, curve: curve, seconds: Date().timeIntervalSince(t0), tokens: tokensThisLayer))
        }
        let globalSteps = o.mode == .global ? o.steps : o.globalSteps
        if globalSteps > 0 {
            let r = try globalStage(&model, teacher: teacher, windows: windows, positions: pairs.map(\.position), options: o,
                                    steps: globalSteps, progress: progress, shouldCancel: shouldCancel)
            tokens += r.tokens
            reports.append(r)
        }
        let pplAfter = try heldOut.map { try Perplexity.evaluate(model, windows: $0, shouldCancel: shouldCancel).perplexity }
        let report = DistillReport(mode: o.mode, options: describe(o), layers: reports, perplexityBefore: pplBefore,
                                   perplexityAfter: pplAfter, seconds: Date().timeIntervalSince(start), tokens: tokens,
                                   peakMemoryBytes: peakRSSBytes())
        return (model, report)
    }

    /// Mean over windows and positions of KL(teacher ‖ student) between next-token
    /// distributions at temperature τ.
    static func globalKL(_ m: Model, teacher: Model, windows: [[Int]], tau: Double) throws -> Double {
        var total = 0.0
        for w in windows {
            let s = try m.forward([w], options: ForwardOptions(logits: .all)).logits!.data
            let t = try teacher.forward([w], options: ForwardOptions(logits: .all)).logits!.data
            total += Objectives.klDivergence(student: s, teacher: t, cols: m.vocabSize, temperature: Float(tau)).loss
        }
        return total / Double(windows.count)
    }

    /// End-to-end training of the student layers at `positions` on the KL between the
    /// teacher's and the student's next-token distributions (the whole model's backward).
    static func globalStage(_ model: inout Model, teacher: Model, windows: [[Int]], positions: [Int], options o: DistillOptions,
                            steps: Int, progress: ((DistillProgress) -> Void)?,
                            shouldCancel: (@Sendable () -> Bool)?) throws -> LayerReport {
        let t0 = Date()
        let T = windows[0].count, V = model.vocabSize
        var sets = positions.map { TrainableSet(model.layers[$0], o.trainable, seed: o.seed &+ UInt64($0)) }
        let sizes = sets.flatMap { $0.buffers.map(\.count) }
        var a = o.optimiser
        a.totalSteps = steps
        let opt = AdamW(sizes: sizes, options: a)
        var rng = SplitMix64(seed: o.seed &+ 0x610B)
        var order: [Int] = []
        var curve: [Double] = []
        var tokens = 0
        let tau = Float(o.globalTemperature)
        let before = try globalKL(model, teacher: teacher, windows: windows, tau: o.globalTemperature)
        for step in 0..<steps {
            if let c = shouldCancel, c() { throw ForwardCancelled() }
            var sum = GradientSum()
            var stepLoss = 0.0
            for _ in 0..<o.accumulate {
                let batch = nextBatch(min(o.microBatch, windows.count), of: windows.count, order: &order, rng: &rng).map { windows[$0] }
                let teacherLogits = try teacher.forward(batch, options: ForwardOptions(logits: .all)).logits!.data
                let rows = batch.count * T
                let (l, g) = try teacherLogits.withUnsafeBufferPointer { tp in
                    try model.backward(batch) { r0, n, z in
                        // The mean over all rows: gradient 1/rows, written over the student's logits.
                        Objectives.klDivergence(student: z, teacher: tp.baseAddress! + r0 * V, rows: n, cols: V, temperature: tau,
                                                gradScale: 1 / Double(rows), grad: z) / Double(rows)
                    }
                }
                sum.add(zip(positions, sets).flatMap { pos, set in set.gradients(from: g.layers[pos]) })
                stepLoss += l
                tokens += rows
            }
            var flat = sets.flatMap(\.buffers)
            let (lr, _) = opt.update(&flat, grads: sum.mean())
            var k = 0
            for j in sets.indices {
                for b in sets[j].buffers.indices { sets[j].buffers[b] = flat[k]; k += 1 }
                var layer = model.layers[positions[j]]
                sets[j].apply(to: &layer)
                try model.replaceLayer(at: positions[j], with: layer)
            }
            curve.append(stepLoss / Double(o.accumulate))
            progress?(DistillProgress(layer: 1, layers: 1, step: step + 1, steps: steps, loss: curve.last!, lr: lr,
                                      tokensPerSecond: Double(tokens) / max(Date().timeIntervalSince(t0), 1e-9)))
        }
        let after = try globalKL(model, teacher: teacher, windows: windows, tau: o.globalTemperature)
        return LayerReport(position: -1, originals: positions, lossBefore: before, lossAfter: after, curve: curve,
                           seconds: Date().timeIntervalSince(t0), tokens: tokens)
    }

    /// Mean objective of a layer over all the pairs (one window at a time).
    static func objective(_ m: Model, _ layer: DecoderLayer, inputs: [[Float]], targets: [[Float]], loss: DistillLoss,
                          context: LayerContext) throws -> Double {
        var total = 0.0
        for (x, y) in zip(inputs, targets) {
            let (out, _) = m.layerForwardSaving(layer, x: x, context: context)
            total += loss.evaluate(student: out, teacher: y, cols: m.hiddenSize, model: m).loss
        }
        return total / Double(inputs.count)
    }

    /// Runs the student's layers from..<to on each window's stream.
    static func advance(_ stream: [[Float]], model: Model, from: Int, to: Int, context: LayerContext) throws -> [[Float]] {
        guard to > from else { return stream }
        return stream.map { x in
            var h = x
            for k in from..<to { h = model.layerForwardSaving(model.layers[k], x: h, context: context).output }
            return h
        }
    }

    /// The next `count` window indices of a seeded shuffle of 0..<n, reshuffled when it runs out.
    static func nextBatch(_ count: Int, of n: Int, order: inout [Int], rng: inout SplitMix64) -> [Int] {
        (0..<count).map { _ in
            if order.isEmpty { order = shuffled(n, &rng) }
            return order.removeLast()
        }
    }

    static func shuffled(_ n: Int, _ rng: inout SplitMix64) -> [Int] {
        var a = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                a.swapAt(i, j)
            }
        }
        return a
    }

    static func describe(_ o: DistillOptions) -> String {
        "mode=\(o.mode.rawValue) global_steps=\(o.globalSteps) global_tau=\(o.globalTemperature) loss=\(o.loss) tau=\(o.loss.temperature) trainable=\(o.trainable) steps=\(o.steps) micro_batch=\(o.microBatch) accumulate=\(o.accumulate) lr=\(o.optimiser.lr) warmup=\(o.optimiser.warmupSteps) weight_decay=\(o.optimiser.weightDecay) clip=\(o.optimiser.clipNorm) seed=\(o.seed)"
    }
}

/// Micro-batch gradients summed buffer by buffer; `mean()` divides by their count.
struct GradientSum {
    private var sum: [[Float]] = []
    private var count = 0

    mutating func add(_ g: [[Float]]) {
        count += 1
        if sum.isEmpty { sum = g; return }
        for k in sum.indices {
            sum[k].withUnsafeMutableBufferPointer { s in g[k].withUnsafeBufferPointer { x in for i in s.indices { s[i] += x[i] } } }
        }
    }

    func mean() -> [[Float]] {
        guard count > 1 else { return sum }
        let f = 1 / Float(count)
        return sum.map { $0.map { $0 * f } }
    }
}
