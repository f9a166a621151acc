// Reverse-mode gradients of the model: per decoder layer (forward with a tape, backward from
// ∂objective/∂output) and for the whole model under the mean next-token cross-entropy that
// transformers computes with labels = input_ids. Every matrix product is a GEMM; the kernels'
// backward lives in Tensors/KernelGrads.swift, attention's in Attention.backward.
import COpenBLAS
import Foundation
import Tensors

/// What one decoder layer's backward needs from its forward. Buffers are [B·T, width].
public struct LayerTape: Sendable {
    /// The layer input (the residual stream before it).
    var x: [Float]
    /// attentionNorm(x)
    var h1: [Float]
    /// q and k straight out of their projections, before q_norm/k_norm (Qwen3 only).
    var q0: [Float]?
    var k0: [Float]?
    /// q and k after the norms and RoPE, and v: what attention consumed.
    var q: [Float]
    var k: [Float]
    var v: [Float]
    /// The attention output (o_proj input).
    var attn: [Float]
    /// The residual stream after the attention block.
    var x2: [Float]
    /// mlpNorm(x2)
    var h2: [Float]
    /// gate and up (OPT: fc1) before the activation. The activation output is recomputed.
    var gate: [Float]?
    var up: [Float]
}

/// Positions, masks and RoPE tables of a batch, for the per-layer forward and backward.
public struct LayerContext: Sendable {
    let pass: PassContext
    public var batch: Int { pass.batch }
    public var length: Int { pass.length }
}

extension Model {
    /// The context of a [B, T] batch: positions default as in `forward` (arange, or OPT's
    /// mask-derived positions); `mask` is the key-padding mask, `segments` as ForwardOptions.
    public func layerContext(batch B: Int, length T: Int, positionIds: [[Int]]? = nil, mask: [[Int]]? = nil,
                             segments: [[Int]]? = nil) throws -> LayerContext {
        let positions = try self.positionIds(B: B, T: T, options: ForwardOptions(attentionMask: mask, positionIds: positionIds), past: 0)
        return LayerContext(pass: makeContext(B: B, T: T, positions: positions, mask: mask, segments: segments, past: 0))
    }

    /// One decoder layer on x [B·T, H], returning its output and the tape its backward needs.
    public func layerForwardSaving(_ layer: DecoderLayer, x: [Float], context: LayerContext) -> (output: [Float], tape: LayerTape) {
        var y = x
        let tape = layerForward(layer, x: &y, ctx: context.pass, cache: nil, record: true).tape!
        return (y, tape)
    }

    /// The backward of one decoder layer: given ∂objective/∂output [B·T, H], returns
    /// ∂objective/∂input and a layer of the same shape whose every parameter holds its gradient.
    public func layerBackward(_ layer: DecoderLayer, tape t: LayerTape, dOutput dy: [Float],
                              context: LayerContext) -> (dInput: [Float], grads: DecoderLayer) {
        layerBackward(layer, tape: t, dOutput: dy, ctx: context.pass)
    }

    func layerBackward(_ layer: DecoderLayer, tape t: LayerTape, dOutput dy: [Float], ctx: PassContext) -> (dInput: [Float], grads: DecoderLayer) {
        let rows = ctx.batch * ctx.length
        let hd = layer.headDim, nh = layer.numHeads, nkv = layer.numKVHeads
        let I = layer.intermediateSize
        // MLP block: y = x2 + down(a), a = act(gate) ⊙ up (OPT: act(fc1)).
        var a = t.up
        if let g = t.gate {
            var ag = g
            ag.withUnsafeMutableBufferPointer { activate($0.baseAddress!, $0.count) }
            for i in 0..<a.count { a[i] *= ag[i] }
        } else {
            a.withUnsafeMutableBufferPointer { activate($0.baseAddress!, $0.count) }
        }
        let dDown = linearGrads(layer.down, dY: dy, x: a, rows: rows)
        a = []
        var da = inputGrad(dy, layer.down.weight, rows: rows)
        var dUp = [Float](repeating: 0, count: rows * I)
        var dGate: [Float]? = nil
        if let g = t.gate {
            var dg = [Float](repeating: 0, count: rows * I)
            if activation == .silu {
                g.withUnsafeBufferPointer { gp in t.up.withUnsafeBufferPointer { up in da.withUnsafeBufferPointer { dap in
                    dg.withUnsafeMutableBufferPointer { dgp in dUp.withUnsafeMutableBufferPointer { dup in
                        parallelRows(rows * I, minRowsPerChunk: 1 << 15) { i0, c in
                            KernelGrads.siluMul(gate: gp.baseAddress! + i0, up: up.baseAddress! + i0, da: dap.baseAddress! + i0, count: c,
                                                dGate: dgp.baseAddress! + i0, dUp: dup.baseAddress! + i0)
                        }
                    } }
                } } }
            } else {
                var ag = g
                ag.withUnsafeMutableBufferPointer { activate($0.baseAddress!, $0.count) }
                for i in 0..<dUp.count { dUp[i] = da[i] * ag[i]; dg[i] = da[i] * t.up[i] }
                activationBackward(g, &dg)
            }
            dGate = dg
        } else {
            dUp = da
            activationBackward(t.up, &dUp)
        }
        da = []
        let gUp = linearGrads(layer.up, dY: dUp, x: t.h2, rows: rows)
        var dh2 = inputGrad(dUp, layer.up.weight, rows: rows)
        var gGate: Linear? = nil
        if let g = layer.gate, let dg = dGate {
            gGate = linearGrads(g, dY: dg, x: t.h2, rows: rows)
            inputGrad(dg, g.weight, rows: rows, into: &dh2, accumulate: true)
        }
        var dx2 = dy
        let gMlpNorm = normBackward(layer.mlpNorm, x: t.x2, rows: rows, dy: dh2, into: &dx2, accumulate: true)
        dh2 = []
        // Attention block: x2 = x + o(attention(rope(qn(q(h1))), rope(kn(k(h1))), v(h1))).
        let gO = linearGrads(layer.o, dY: dx2, x: t.attn, rows: rows)
        let dAttn = inputGrad(dx2, layer.o.weight, rows: rows)
        var (dq, dk, dv) = attentionBackward(layer, tape: t, dAttn: dAttn, ctx: ctx)
        if config.usesRoPE {
            ctx.cos.withUnsafeBufferPointer { c in
                ctx.sin.withUnsafeBufferPointer { s in
                    dq.withUnsafeMutableBufferPointer { KernelGrads.rope($0.baseAddress!, tokens: rows, heads: nh, headDim: hd, stride: nh * hd, cos: c.baseAddress!, sin: s.baseAddress!) }
                    dk.withUnsafeMutableBufferPointer { KernelGrads.rope($0.baseAddress!, tokens: rows, heads: nkv, headDim: hd, stride: nkv * hd, cos: c.baseAddress!, sin: s.baseAddress!) }
                }
            }
        }
        var gQNorm: Norm? = nil, gKNorm: Norm? = nil
        if let qn = layer.qNorm, let q0 = t.q0 {
            var d = [Float](repeating: 0, count: dq.count)
            gQNorm = normBackward(qn, x: q0, rows: rows * nh, dy: dq, into: &d, accumulate: false)
            dq = d
        }
        if let kn = layer.kNorm, let k0 = t.k0 {
            var d = [Float](repeating: 0, count: dk.count)
            gKNorm = normBackward(kn, x: k0, rows: rows * nkv, dy: dk, into: &d, accumulate: false)
            dk = d
        }
        let gQ = linearGrads(layer.q, dY: dq, x: t.h1, rows: rows)
        let gK = linearGrads(layer.k, dY: dk, x: t.h1, rows: rows)
        let gV = linearGrads(layer.v, dY: dv, x: t.h1, rows: rows)
        var dh1 = inputGrad(dq, layer.q.weight, rows: rows)
        inputGrad(dk, layer.k.weight, rows: rows, into: &dh1, accumulate: true)
        inputGrad(dv, layer.v.weight, rows: rows, into: &dh1, accumulate: true)
        var dx = dx2
        let gAttnNorm = normBackward(layer.attentionNorm, x: t.x, rows: rows, dy: dh1, into: &dx, accumulate: true)
        let grads = DecoderLayer(attentionNorm: gAttnNorm, mlpNorm: gMlpNorm, q: gQ, k: gK, v: gV, o: gO,
                                 qNorm: gQNorm, kNorm: gKNorm, gate: gGate, up: gUp, down: dDown,
                                 headDim: hd, slidingWindow: layer.slidingWindow)
        return (dx, grads)
    }

    /// ∂/∂q, ∂/∂k (post-RoPE) and ∂/∂v from ∂/∂(attention output); (sequence, KV head) jobs
    /// in parallel with single-threaded BLAS inside, as the forward.
    func attentionBackward(_ layer: DecoderLayer, tape t: LayerTape, dAttn: [Float], ctx: PassContext) -> ([Float], [Float], [Float]) {
        let B = ctx.batch, T = ctx.length
        let hd = layer.headDim, nh = layer.numHeads, nkv = layer.numKVHeads
        let qDim = nh * hd, kvDim = nkv * hd
        var dq = [Float](repeating: 0, count: B * T * qDim)
        var dk = [Float](repeating: 0, count: B * T * kvDim)
        var dv = [Float](repeating: 0, count: B * T * kvDim)
        let scale = 1 / Float(hd).squareRoot()
        let scratchCount = 2 * Attention.scratchSize(queries: T, keys: T)
        t.q.withUnsafeBufferPointer { qp in t.k.withUnsafeBufferPointer { kp in t.v.withUnsafeBufferPointer { vp in
            dAttn.withUnsafeBufferPointer { dop in
                dq.withUnsafeMutableBufferPointer { dqp in dk.withUnsafeMutableBufferPointer { dkp in dv.withUnsafeMutableBufferPointer { dvp in
                    let q = qp.baseAddress!, k = kp.baseAddress!, v = vp.baseAddress!, dO = dop.baseAddress!
                    let dQ = dqp.baseAddress!, dK = dkp.baseAddress!, dV = dvp.baseAddress!
                    func job(_ b: Int, _ groups: Range<Int>, _ scratch: UnsafeMutablePointer<Float>) {
                        Attention.withPointers(ctx.keyMask, ctx.segments) { kmp, sgp in
                            Attention.backward(q: q + b * T * qDim, qStride: qDim, k: k + b * T * kvDim, v: v + b * T * kvDim, kvStride: kvDim,
                                               dOut: dO + b * T * qDim, oStride: qDim, dq: dQ + b * T * qDim,
                                               dk: dK + b * T * kvDim, dv: dV + b * T * kvDim, queries: T, keys: T,
                                               heads: nh, kvHeads: nkv, headDim: hd, queryOffset: 0,
                                               keyMask: kmp.map { $0 + b * T }, segments: sgp.map { $0 + b * T },
                                               window: layer.slidingWindow, scale: scale, kvHeadRange: groups, scratch: scratch)
                        }
                    }
                    Attention.distribute(B: B, units: nkv, serial: T * T < 4096, scratchCount: scratchCount, job)
                } } }
            }
        } } }
        return (dq, dk, dv)
    }

    /// dx = da ⊙ act′(x), in place on `d`.
    func activationBackward(_ x: [Float], _ d: inout [Float]) {
        let act = activation
        x.withUnsafeBufferPointer { xp in
            d.withUnsafeMutableBufferPointer { dp in
                parallelRows(x.count, minRowsPerChunk: 1 << 15) { i0, c in
                    let xs = xp.baseAddress! + i0, ds = dp.baseAddress! + i0
                    switch act {
                    case .silu: KernelGrads.silu(xs, ds, count: c)
                    case .relu: KernelGrads.relu(xs, ds, count: c)
                    case .gelu: KernelGrads.gelu(xs, ds, count: c)
                    case .geluTanh: KernelGrads.gelu(xs, ds, count: c, tanhApproximation: true)
                    }
                }
            }
        }
    }

    // MARK: the whole model

    /// Mean next-token cross-entropy of `ids` ([B][T]) and its gradient: a copy of the model
    /// whose every parameter holds ∂loss/∂parameter. As transformers with labels = input_ids:
    /// position t predicts labels[t + 1], the mean runs over every pair whose label is not
    /// negative (−100 is HF's ignore index), padded positions included unless their labels
    /// say otherwise; `mask` only reaches attention (and OPT's positions). Tied heads add
    /// their gradient to the embedding's.
    public func backward(_ ids: [[Int]], mask: [[Int]]? = nil, labels: [[Int]]? = nil,
                         positionIds: [[Int]]? = nil) throws -> (loss: Double, gradients: Model) {
        let B = ids.count
        guard B > 0, let T = ids.first?.count, T > 1 else { throw ModelError("backward: needs at least one row of two tokens") }
        guard ids.allSatisfy({ $0.count == T }) else { throw ModelError("backward: rows of different lengths; pad them and pass an attention mask") }
        for row in ids { for t in row where t < 0 || t >= vocabSize { throw ModelError("backward: token id \(t) outside the vocabulary 0..<\(vocabSize)") } }
        if let m = mask, m.count != B || m.contains(where: { $0.count != T }) { throw ModelError("backward: mask shape differs from the input's [\(B), \(T)]") }
        let lab = labels ?? ids
        guard lab.count == B, lab.allSatisfy({ $0.count == T }) else { throw ModelError("backward: labels shape differs from the input's [\(B), \(T)]") }
        // Targets per row; the last position of each sequence predicts nothing.
        var targets = [Int](repeating: -1, count: B * T)
        for b in 0..<B { for t in 0..<(T - 1) { targets[b * T + t] = lab[b][t + 1] < 0 ? -1 : lab[b][t + 1] } }
        let count = targets.filter { $0 >= 0 }.count
        guard count > 0 else { throw ModelError("backward: every label is ignored") }
        let V = vocabSize
        let (total, g) = try backward(ids, mask: mask, positionIds: positionIds) { r0, n, z in
            var partial = [Double](repeating: 0, count: n)
            targets.withUnsafeBufferPointer { tp in
                partial.withUnsafeMutableBufferPointer { pp in
                    parallelRows(n, minRowsPerChunk: 8) { a, c in
                        pp[a] = Objectives.crossEntropy(z + a * V, rows: c, cols: V, targets: tp.baseAddress! + r0 + a,
                                                        scale: 1 / Float(count))
                    }
                }
            }
            return partial.reduce(0, +)
        }
        return (total / Double(count), g)
    }

    /// The backward of any objective of the logits: `headLoss(r0, n, z)` gets the logits of
    /// rows r0..<r0+n ([n, V], rows in [B·T] order, at most 256 at a time), must replace them
    /// with ∂objective/∂logits and return that chunk's part of the objective; the result is
    /// the sum of those parts and the model of gradients. (Distillation's KL between teacher
    /// and student next-token distributions uses this.)
    public func backward(_ ids: [[Int]], mask: [[Int]]? = nil, positionIds: [[Int]]? = nil,
                         headLoss: (Int, Int, UnsafeMutablePointer<Float>) -> Double) throws -> (loss: Double, gradients: Model) {
        let B = ids.count
        guard B > 0, let T = ids.first?.count, T > 0 else { throw ModelError("backward: empty input") }
        guard ids.allSatisfy({ $0.count == T }) else { throw ModelError("backward: rows of different lengths; pad them and pass an attention mask") }
        for row in ids { for t in row where t < 0 || t >= vocabSize { throw ModelError("backward: token id \(t) outside the vocabulary 0..<\(vocabSize)") } }
        let rows = B * T, H = hiddenSize, V = vocabSize
        let positions = try self.positionIds(B: B, T: T, options: ForwardOptions(attentionMask: mask, positionIds: positionIds), past: 0)
        let ctx = makeContext(B: B, T: T, positions: positions, mask: mask, past: 0)
        var x = embed(ids, positions: positions)
        var tapes: [LayerTape] = []
        for layer in layers { tapes.append(layerForward(layer, x: &x, ctx: ctx, cache: nil, record: true).tape!) }
        let normed = finalNorm.apply(x, rows: rows)
        // LM head and loss in row chunks: the [rows, V] logits never exist whole.
        let W = outputWeight
        var dW = [Float](repeating: 0, count: V * H)
        var dNormed = [Float](repeating: 0, count: rows * H)
        var total: Double = 0
        let chunk = 256
        var logits = [Float](repeating: 0, count: min(chunk, rows) * V)
        let head = Linear(weight: W)
        var r0 = 0
        while r0 < rows {
            let n = min(chunk, rows - r0)
            normed.withUnsafeBufferPointer { hp in
                logits.withUnsafeMutableBufferPointer { lp in
                    let h = hp.baseAddress! + r0 * H, z = lp.baseAddress!
                    head.apply(h, rows: n, into: z)
                    total += headLoss(r0, n, z)
                    dW.withUnsafeMutableBufferPointer { dwp in
                        BLAS.gemm(transA: true, transB: false, m: V, n: H, k: n, a: z, lda: V, b: h, ldb: H,
                                  beta: 1, c: dwp.baseAddress!, ldc: H)
                    }
                    W.data.withUnsafeBufferPointer { wp in
                        dNormed.withUnsafeMutableBufferPointer { dp in
                            BLAS.gemm(transA: false, transB: false, m: n, n: H, k: V, a: z, lda: V, b: wp.baseAddress!, ldb: H,
                                      beta: 0, c: dp.baseAddress! + r0 * H, ldc: H)
                        }
                    }
                }
            }
            r0 += n
        }
        logits = []
        var dx = [Float](repeating: 0, count: rows * H)
        let gFinal = normBackward(finalNorm, x: x, rows: rows, dy: dNormed, into: &dx, accumulate: false)
        dNormed = []
        var layerGrads = [DecoderLayer?](repeating: nil, count: layers.count)
        for l in layers.indices.reversed() {
            let tape = tapes.removeLast()
            let (d, g) = layerBackward(layers[l], tape: tape, dOutput: dx, ctx: ctx)
            dx = d
            layerGrads[l] = g
        }
        // Embedding lookup: scatter-add the rows of ∂/∂x₀ (and OPT's learned positions).
        var dE = [Float](repeating: 0, count: V * H)
        for b in 0..<B {
            for t in 0..<T {
                let src = (b * T + t) * H, dst = ids[b][t] * H
                for j in 0..<H { dE[dst + j] += dx[src + j] }
            }
        }
        var dPos: Tensor? = nil
        if let pos = embedPositions {
            var d = [Float](repeating: 0, count: pos.count)
            let maxRow = pos.shape[0]
            for b in 0..<B {
                for t in 0..<T {
                    let r = min(max(positions[b][t] + 2, 0), maxRow - 1)
                    for j in 0..<H { d[r * H + j] += dx[(b * T + t) * H + j] }
                }
            }
            dPos = Tensor(shape: pos.shape, data: d)
        }
        if lmHead == nil { for i in 0..<dE.count { dE[i] += dW[i] } }
        var g = self
        g.embedTokens = Tensor(shape: embedTokens.shape, data: dE)
        g.embedPositions = dPos
        g.layers = layerGrads.map { $0! }
        g.finalNorm = gFinal
        g.lmHead = lmHead == nil ? nil : Tensor(shape: [V, H], data: dW)
        return (total, g)
    }

    /// `backward` with the gradients by HF parameter name.
    public func gradients(ids: [[Int]], mask: [[Int]]? = nil) throws -> (loss: Double, grads: [String: Tensor]) {
        let (loss, g) = try backward(ids, mask: mask)
        return (loss, Dictionary(uniqueKeysWithValues: g.namedTensors().map { ($0.name, $0.tensor) }))
    }

    /// Adds `other`'s parameters to this model's, one by one (gradient accumulation).
    public mutating func addParameters(_ other: Model) {
        func add(_ a: inout Tensor, _ b: Tensor) {
            precondition(a.shape == b.shape, "addParameters: \(a.shape) vs \(b.shape)")
            a.data.withUnsafeMutableBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in for i in 0..<ap.count { ap[i] += bp[i] } } }
        }
        func addNorm(_ a: inout Norm, _ b: Norm) {
            add(&a.weight, b.weight)
            if a.bias != nil, let bb = b.bias { add(&a.bias!, bb) }
        }
        func addLinear(_ a: inout Linear, _ b: Linear) {
            add(&a.weight, b.weight)
            if a.bias != nil, let bb = b.bias { add(&a.bias!, bb) }
        }
        add(&embedTokens, other.embedTokens)
        if embedPositions != nil, let p = other.embedPositions { add(&embedPositions!, p) }
        precondition(layers.count == other.layers.count)
        for i in layers.indices {
            let o = other.layers[i]
            addNorm(&layers[i].attentionNorm, o.attentionNorm); addNorm(&layers[i].mlpNorm, o.mlpNorm)
            addLinear(&layers[i].q, o.q); addLinear(&layers[i].k, o.k); addLinear(&layers[i].v, o.v); addLinear(&layers[i].o, o.o)
            if layers[i].qNorm != nil, let n = o.qNorm { addNorm(&layers[i].qNorm!, n) }
            if layers[i].kNorm != nil, let n = o.kNorm { addNorm(&layers[i].kNorm!, n) }
            if layers[i].gate != nil, let g = o.gate { addLinear(&layers[i].gate!, g) }
            addLinear(&layers[i].up, o.up); addLinear(&layers[i].down, o.down)
        }
        addNorm(&finalNorm, other.finalNorm)
        if lmHead != nil, let h = other.lmHead { add(&lmHead!, h) }
    }
}

// MARK: GEMM helpers

/// ∂W[out, in] = ∂Yᵀ · X and ∂b = Σ_rows ∂Y, as a Linear of gradients.
func linearGrads(_ l: Linear, dY: [Float], x: [Float], rows: Int) -> Linear {
    let outF = l.outFeatures, inF = l.inFeatures
    var dW = [Float](repeating: 0, count: outF * inF)
    dY.withUnsafeBufferPointer { dp in
        x.withUnsafeBufferPointer { xp in
            dW.withUnsafeMutableBufferPointer { wp in
                BLAS.gemm(transA: true, transB: false, m: outF, n: inF, k: rows, a: dp.baseAddress!, lda: outF,
                          b: xp.baseAddress!, ldb: inF, beta: 0, c: wp.baseAddress!, ldc: inF)
            }
        }
    }
    var db: Tensor? = nil
    if l.bias != nil {
        var s = [Float](repeating: 0, count: outF)
        for r in 0..<rows { for o in 0..<outF { s[o] += dY[r * outF + o] } }
        db = Tensor(shape: [outF], data: s)
    }
    return Linear(weight: Tensor(shape: [outF, inF], data: dW), bias: db)
}

/// ∂X[rows, in] = ∂Y[rows, out] · W[out, in].
func inputGrad(_ dY: [Float], _ w: Tensor, rows: Int) -> [Float] {
    var dx = [Float](repeating: 0, count: rows * w.shape[1])
    inputGrad(dY, w, rows: rows, into: &dx, accumulate: false)
    return dx
}

func inputGrad(_ dY: [Float], _ w: Tensor, rows: Int, into dx: inout [Float], accumulate: Bool) {
    let outF = w.shape[0], inF = w.shape[1]
    dY.withUnsafeBufferPointer { dp in
        w.data.withUnsafeBufferPointer { wp in
            dx.withUnsafeMutableBufferPointer { xp in
                BLAS.gemm(transA: false, transB: false, m: rows, n: inF, k: outF, a: dp.baseAddress!, lda: outF,
                          b: wp.baseAddress!, ldb: inF, beta: accumulate ? 1 : 0, c: xp.baseAddress!, ldc: inF)
            }
        }
    }
}

/// The backward of `norm` on rows of x: writes (or adds) ∂/∂x into `dx` and returns the
/// norm's parameter gradients. Row chunks run in parallel, each with its own partial sums.
func normBackward(_ norm: Norm, x: [Float], rows: Int, dy: [Float], into dx: inout [Float], accumulate: Bool) -> Norm {
    let d = norm.dim
    let chunks = min(Threads.count, max(1, rows / 64))
    var dW = [Float](repeating: 0, count: chunks * d)
    var dB = [Float](repeating: 0, count: chunks * d)
    x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
        norm.weight.data.withUnsafeBufferPointer { wp in dW.withUnsafeMutableBufferPointer { dwp in dB.withUnsafeMutableBufferPointer { dbp in
            Threads.parallelFor(chunks) { c in
                let r0 = c * rows / chunks, n = (c + 1) * rows / chunks - r0
                let off = r0 * d
                switch norm.kind {
                case .rms:
                    KernelGrads.rmsNorm(xp.baseAddress! + off, rows: n, dim: d, weight: wp.baseAddress!, eps: norm.eps,
                                        dy: gp.baseAddress! + off, dx: dp.baseAddress! + off, accumulate: accumulate,
                                        dWeight: dwp.baseAddress! + c * d)
                case .layer:
                    KernelGrads.layerNorm(xp.baseAddress! + off, rows: n, dim: d, weight: wp.baseAddress!, eps: norm.eps,
                                          dy: gp.baseAddress! + off, dx: dp.baseAddress! + off, accumulate: accumulate,
                                          dWeight: dwp.baseAddress! + c * d, dBias: dbp.baseAddress! + c * d)
                }
            }
        } } }
    } } }
    var w = [Float](repeating: 0, count: d), b = [Float](repeating: 0, count: d)
    for c in 0..<chunks { for j in 0..<d { w[j] += dW[c * d + j]; b[j] += dB[c * d + j] } }
    return Norm(kind: norm.kind, weight: Tensor(shape: [d], data: w), bias: norm.bias == nil ? nil : Tensor(shape: [d], data: b), eps: norm.eps)
}

extension Model {
    /// KL(softmax(head(norm(teacher))/τ) ‖ softmax(head(norm(student))/τ)) averaged over the
    /// rows of two residual-stream blocks [rows, H] — hidden states read through the final
    /// norm and the LM head (a "logit lens") — and its gradient with respect to the student
    /// rows. The [rows, V] logits are made 256 rows at a time.
    public func logitKL(student: [Float], teacher: [Float], rows: Int, temperature tau: Float = 1) -> (loss: Double, dStudent: [Float]) {
        let H = hiddenSize, V = vocabSize
        precondition(student.count == rows * H && teacher.count == rows * H)
        let ns = finalNorm.apply(student, rows: rows), nt = finalNorm.apply(teacher, rows: rows)
        let head = Linear(weight: outputWeight)
        var dNormed = [Float](repeating: 0, count: rows * H)
        let chunk = min(256, rows)
        var zs = [Float](repeating: 0, count: chunk * V), zt = zs
        var total = 0.0
        var r0 = 0
        while r0 < rows {
            let n = min(chunk, rows - r0)
            ns.withUnsafeBufferPointer { sp in nt.withUnsafeBufferPointer { tp in
                zs.withUnsafeMutableBufferPointer { zsp in zt.withUnsafeMutableBufferPointer { ztp in
                    head.apply(sp.baseAddress! + r0 * H, rows: n, into: zsp.baseAddress!)
                    head.apply(tp.baseAddress! + r0 * H, rows: n, into: ztp.baseAddress!)
                    // ∂/∂logits over all rows, in place of the student's logits.
                    total += Objectives.klDivergence(student: zsp.baseAddress!, teacher: ztp.baseAddress!, rows: n, cols: V,
                                                     temperature: tau, gradScale: 1 / Double(rows), grad: zsp.baseAddress!) / Double(rows)
                    // ∂/∂normed = ∂z · W  ([n, V] × [V, H])
                    outputWeight.data.withUnsafeBufferPointer { wp in
                        dNormed.withUnsafeMutableBufferPointer { dp in
                            BLAS.gemm(transA: false, transB: false, m: n, n: H, k: V, a: zsp.baseAddress!, lda: V, b: wp.baseAddress!, ldb: H,
                                      beta: 0, c: dp.baseAddress! + r0 * H, ldc: H)
                        }
                    }
                } }
            } }
            r0 += n
        }
        var dx = [Float](repeating: 0, count: rows * H)
        _ = normBackward(finalNorm, x: student, rows: rows, dy: dNormed, into: &dx, accumulate: false)
        return (total, dx)
    }
}
