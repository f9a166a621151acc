// The forward pass: embeddings, the decoder-layer loop, the final norm and the LM head,
// with the probes a caller asks for (HF's hidden_states tuple, raw layer outputs, the MLP
// down_proj input and the attention o_proj input of every layer) and nothing else.
import COpenBLAS
import Foundation
import Tensors

public struct ForwardOptions: Sendable {
    public enum Logits: Sendable { case all, last, none }
    /// [B][T], 1 = real token, 0 = padding (left or right).
    public var attentionMask: [[Int]]? = nil
    /// [B][T]; default arange(T) (RoPE models) or cumsum(mask)·mask − 1 (OPT), as transformers.
    public var positionIds: [[Int]]? = nil
    public var hiddenStates = false
    public var layerOutputs = false
    public var downProjInputs = false
    public var oProjInputs = false
    public var logits: Logits = .all
    /// [B][T] segment ids, or nil: a token attends to earlier tokens of segment 0 and of its
    /// own segment only. Several continuations packed after one shared context (segment 0),
    /// each with its own id and positions continuing the context's, give each the exact
    /// attention it would have alone.
    public var segments: [[Int]]? = nil
    /// Checked between layers; when it returns true the pass stops with ForwardCancelled.
    public var shouldCancel: (@Sendable () -> Bool)? = nil

    public init(attentionMask: [[Int]]? = nil, positionIds: [[Int]]? = nil, hiddenStates: Bool = false,
                layerOutputs: Bool = false, downProjInputs: Bool = false, oProjInputs: Bool = false,
                logits: Logits = .all) {
        self.attentionMask = attentionMask; self.positionIds = positionIds
        self.hiddenStates = hiddenStates; self.layerOutputs = layerOutputs
        self.downProjInputs = downProjInputs; self.oProjInputs = oProjInputs; self.logits = logits
    }
}

public struct ForwardCancelled: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled" }
}

public struct ForwardResult: Sendable {
    public var batch: Int
    public var length: Int
    /// [B, T, V] (.all) or [B, V] (.last)
    public var logits: Tensor?
    /// L + 1 entries of [B, T, H]: embeddings, outputs of layers 0..L−2, final-norm output.
    public var hiddenStates: [Tensor]?
    /// L entries of [B, T, H]: the raw output of every layer.
    public var layerOutputs: [Tensor]?
    /// [B, T, H]
    public var lastLayerOutput: Tensor
    /// [B, T, H]
    public var finalNormOutput: Tensor
    /// L entries of [B, T, I]
    public var downProjInputs: [Tensor]?
    /// L entries of [B, T, heads · headDim]
    public var oProjInputs: [Tensor]?
}

/// Per-pass facts every layer needs.
struct PassContext {
    let batch: Int
    let length: Int
    /// cos/sin [B·T, hd/2] (RoPE models)
    let cos: [Float]
    let sin: [Float]
    /// [B·Tk] key flags, or nil
    let keyMask: [Int32]?
    /// [B·T] segment ids (ForwardOptions.segments), or nil
    let segments: [Int32]?
    /// Keys already in the cache (0 without one).
    let past: Int
}

extension Model {
    /// Runs the model on `ids` ([B][T], equal lengths).
    public func forward(_ ids: [[Int]], options: ForwardOptions = ForwardOptions()) throws -> ForwardResult {
        let B = ids.count
        guard B > 0, let T = ids.first?.count, T > 0 else { throw ModelError("forward: empty input") }
        guard ids.allSatisfy({ $0.count == T }) else { throw ModelError("forward: rows of different lengths; pad them and pass an attention mask") }
        for row in ids { for t in row where t < 0 || t >= vocabSize { throw ModelError("forward: token id \(t) outside the vocabulary 0..<\(vocabSize)") } }
        if let m = options.attentionMask, m.count != B || m.contains(where: { $0.count != T }) {
            throw ModelError("forward: attention mask shape differs from the input's [\(B), \(T)]")
        }
        let positions = try positionIds(B: B, T: T, options: options, past: 0)
        let H = hiddenSize
        var x = embed(ids, positions: positions)
        if let sg = options.segments, sg.count != B || sg.contains(where: { $0.count != T }) {
            throw ModelError("forward: segments shape differs from the input's [\(B), \(T)]")
        }
        let ctx = makeContext(B: B, T: T, positions: positions, mask: options.attentionMask, segments: options.segments, past: 0)
        var hidden: [Tensor]? = options.hiddenStates ? [Tensor(shape: [B, T, H], data: x)] : nil
        var outs: [Tensor]? = options.layerOutputs ? [] : nil
        var downs: [Tensor]? = options.downProjInputs ? [] : nil
        var oins: [Tensor]? = options.oProjInputs ? [] : nil
        for (li, layer) in layers.enumerated() {
            if let c = options.shouldCancel, c() { throw ForwardCancelled() }
            let (dp, op, _) = layerForward(layer, x: &x, ctx: ctx, cache: nil, wantDown: options.downProjInputs,
                                        wantO: options.oProjInputs)
            if let d = dp { downs?.append(Tensor(shape: [B, T, layer.intermediateSize], data: d)) }
            if let o = op { oins?.append(Tensor(shape: [B, T, layer.numHeads * layer.headDim], data: o)) }
            outs?.append(Tensor(shape: [B, T, H], data: x))
            if li < layers.count - 1 { hidden?.append(Tensor(shape: [B, T, H], data: x)) }
        }
        let last = Tensor(shape: [B, T, H], data: x)
        let normed = Tensor(shape: [B, T, H], data: finalNorm.apply(x, rows: B * T))
        hidden?.append(normed)
        var logits: Tensor? = nil
        switch options.logits {
        case .all: logits = Tensor(shape: [B, T, vocabSize], data: project(normed.data, rows: B * T))
        case .last:
            var rows = [Float](); rows.reserveCapacity(B * H)
            for b in 0..<B { rows.append(contentsOf: normed.data[((b * T + T - 1) * H)..<((b * T + T) * H)]) }
            logits = Tensor(shape: [B, vocabSize], data: project(rows, rows: B))
        case .none: break
        }
        return ForwardResult(batch: B, length: T, logits: logits, hiddenStates: hidden, layerOutputs: outs,
                             lastLayerOutput: last, finalNormOutput: normed, downProjInputs: downs, oProjInputs: oins)
    }

    /// logits[rows, V] = h[rows, H] · W_outᵀ
    public func project(_ h: [Float], rows: Int) -> [Float] {
        Linear(weight: outputWeight).apply(h, rows: rows)
    }

    func positionIds(B: Int, T: Int, options: ForwardOptions, past: Int) throws -> [[Int]] {
        if let p = options.positionIds {
            guard p.count == B, p.allSatisfy({ $0.count == T }) else { throw ModelError("forward: position_ids shape differs from the input's [\(B), \(T)]") }
            return p
        }
        if config.architecture == .opt, let m = options.attentionMask {
            // OPT derives positions from the mask: cumsum(mask)·mask − 1 (pads → −1).
            return m.map { row in
                var c = 0
                return row.map { v in c += v; return c * v - 1 + past }
            }
        }
        return Array(repeating: Array(past..<(past + T)), count: B)
    }

    func embed(_ ids: [[Int]], positions: [[Int]]) -> [Float] {
        let H = hiddenSize, T = ids[0].count
        var x = [Float](repeating: 0, count: ids.count * T * H)
        embedTokens.data.withUnsafeBufferPointer { e in
            x.withUnsafeMutableBufferPointer { xp in
                for (b, row) in ids.enumerated() {
                    for (t, id) in row.enumerated() {
                        (xp.baseAddress! + (b * T + t) * H).update(from: e.baseAddress! + id * H, count: H)
                    }
                }
            }
        }
        if let pos = embedPositions {
            let maxRow = pos.shape[0]
            pos.data.withUnsafeBufferPointer { pp in
                for b in 0..<ids.count {
                    for t in 0..<T {
                        let r = min(max(positions[b][t] + 2, 0), maxRow - 1)
                        for j in 0..<H { x[(b * T + t) * H + j] += pp[r * H + j] }
                    }
                }
            }
        }
        return x
    }

    func makeContext(B: Int, T: Int, positions: [[Int]], mask: [[Int]]?, segments: [[Int]]? = nil, past: Int) -> PassContext {
        var cos: [Float] = [], sin: [Float] = []
        if config.usesRoPE {
            (cos, sin) = RoPE.tables(invFreq: invFreq, positions: positions.flatMap { $0 })
        }
        let km: [Int32]? = mask.map { $0.flatMap { $0.map { Int32($0) } } }
        return PassContext(batch: B, length: T, cos: cos, sin: sin, keyMask: km,
                           segments: segments.map { $0.flatMap { $0.map { Int32($0) } } }, past: past)
    }

    /// One decoder layer on the residual stream x [B·T, H], in place.
    /// Returns the probes asked for (the down_proj input and the o_proj input) and, with
    /// `record`, what the layer's backward needs (Backward.swift).
    @discardableResult
    func layerForward(_ layer: DecoderLayer, x: inout [Float], ctx: PassContext, cache: KVCache.Slot?,
                      wantDown: Bool = false, wantO: Bool = false, record: Bool = false)
        -> (down: [Float]?, o: [Float]?, tape: LayerTape?) {
        let input = record ? x : []
        let B = ctx.batch, T = ctx.length, rows = B * T
        let hd = layer.headDim, nh = layer.numHeads, nkv = layer.numKVHeads
        let qDim = nh * hd, kvDim = nkv * hd
        // Attention block: h = norm(x); q, k, v; (q/k norm); RoPE; softmax(q·kᵀ/√hd)·v; o.
        let h = layer.attentionNorm.apply(x, rows: rows)
        var q = layer.q.apply(h, rows: rows)
        var k = layer.k.apply(h, rows: rows)
        let v = layer.v.apply(h, rows: rows)
        let q0 = record && layer.qNorm != nil ? q : nil, k0 = record && layer.kNorm != nil ? k : nil
        if let qn = layer.qNorm { q = qn.apply(q, rows: rows * nh) }
        if let kn = layer.kNorm { k = kn.apply(k, rows: rows * nkv) }
        if config.usesRoPE {
            ctx.cos.withUnsafeBufferPointer { c in
                ctx.sin.withUnsafeBufferPointer { s in
                    q.withUnsafeMutableBufferPointer { Kernels.rope($0.baseAddress!, tokens: rows, heads: nh, headDim: hd, stride: qDim, cos: c.baseAddress!, sin: s.baseAddress!) }
                    k.withUnsafeMutableBufferPointer { Kernels.rope($0.baseAddress!, tokens: rows, heads: nkv, headDim: hd, stride: kvDim, cos: c.baseAddress!, sin: s.baseAddress!) }
                }
            }
        }
        var attn = [Float](repeating: 0, count: rows * qDim)
        let scale = 1 / Float(hd).squareRoot()
        if let slot = cache {
            // Batch 1 with a cache: append this step's keys and values, attend over all of them.
            slot.append(k: k, v: v, rows: T)
            let Tk = slot.length
            slot.withBuffers { kp, vp in
                q.withUnsafeBufferPointer { qp in
                    attn.withUnsafeMutableBufferPointer { ap in
                        runAttention(q: qp.baseAddress!, k: kp, v: vp, out: ap.baseAddress!, B: 1, Tq: T, Tk: Tk,
                                     nh: nh, nkv: nkv, hd: hd, past: Tk - T, keyMask: nil, window: layer.slidingWindow, scale: scale)
                    }
                }
            }
        } else {
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    v.withUnsafeBufferPointer { vp in
                        attn.withUnsafeMutableBufferPointer { ap in
                            runAttention(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, out: ap.baseAddress!, B: B, Tq: T, Tk: T,
                                         nh: nh, nkv: nkv, hd: hd, past: 0, keyMask: ctx.keyMask, segments: ctx.segments, window: layer.slidingWindow, scale: scale)
                        }
                    }
                }
            }
        }
        let oProbe = wantO ? attn : nil
        let attnOut = layer.o.apply(attn, rows: rows)
        addInPlace(&x, attnOut)
        let x2 = record ? x : []
        // MLP block: h = norm(x); act(gate(h)) ⊙ up(h) (OPT: act(fc1(h))); down.
        let h2 = layer.mlpNorm.apply(x, rows: rows)
        var a = layer.up.apply(h2, rows: rows)
        let n = a.count
        let upPre = record ? a : []
        var gatePre: [Float]? = nil
        if let g = layer.gate {
            var gv = g.apply(h2, rows: rows)
            if record { gatePre = gv }
            gv.withUnsafeMutableBufferPointer { gp in
                a.withUnsafeBufferPointer { ap in
                    activate(gp.baseAddress!, n)
                    parallelRows(n, minRowsPerChunk: 1 << 15) { i0, c in
                        for i in i0..<(i0 + c) { gp[i] *= ap[i] }
                    }
                }
            }
            a = gv
        } else {
            a.withUnsafeMutableBufferPointer { activate($0.baseAddress!, n) }
        }
        let mlpOut = layer.down.apply(a, rows: rows)
        addInPlace(&x, mlpOut)
        let tape = record ? LayerTape(x: input, h1: h, q0: q0, k0: k0, q: q, k: k, v: v, attn: attn, x2: x2, h2: h2,
                                      gate: gatePre, up: upPre) : nil
        return (wantDown ? a : nil, oProbe, tape)
    }

    func activate(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        let act = activation
        parallelRows(n, minRowsPerChunk: 1 << 15) { i0, c in
            switch act {
            case .silu: Kernels.silu(p + i0, count: c)
            case .relu: Kernels.relu(p + i0, count: c)
            case .gelu: Kernels.gelu(p + i0, count: c)
            case .geluTanh: Kernels.gelu(p + i0, count: c, tanhApproximation: true)
            }
        }
    }

    /// Attention for B sequences; (sequence, head-chunk) jobs run in parallel with
    /// single-threaded BLAS inside, so the cores are not oversubscribed.
    func runAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                      B: Int, Tq: Int, Tk: Int, nh: Int, nkv: Int, hd: Int, past: Int, keyMask: [Int32]?, segments: [Int32]? = nil,
                      window: Int?, scale: Float) {
        let qDim = nh * hd, kvDim = nkv * hd
        let scratchCount = Attention.scratchSize(queries: Tq, keys: Tk)
        func job(_ b: Int, _ heads: Range<Int>, _ scratch: UnsafeMutablePointer<Float>) {
            Attention.withPointers(keyMask, segments) { km, sg in
                Attention.run(q: q + b * Tq * qDim, qStride: qDim, k: k + b * Tk * kvDim, v: v + b * Tk * kvDim, kvStride: kvDim,
                              out: out + b * Tq * qDim, oStride: qDim, queries: Tq, keys: Tk, heads: nh, kvHeads: nkv, headDim: hd,
                              queryOffset: past, keyMask: km.map { $0 + b * Tk }, segments: sg.map { $0 + b * Tk }, window: window,
                              scale: scale, headRange: heads, scratch: scratch)
            }
        }
        Attention.distribute(B: B, units: nh, serial: Tq * Tk < 4096, scratchCount: scratchCount, job)
    }
}

@inline(__always)
func addInPlace(_ x: inout [Float], _ y: [Float]) {
    x.withUnsafeMutableBufferPointer { xp in
        y.withUnsafeBufferPointer { yp in
            for i in 0..<xp.count { xp[i] += yp[i] }
        }
    }
}
