// Gradients against transformers' backward (fixtures README §3.1: every parameter of llama
// under batch1's loss, and decoder layer 2 alone under sum(output · R)), attention's backward
// against finite differences of a float64 attention, finite differences through whole models
// with biases (qwen2), q/k norms (qwen3), a sliding window and padding (mistral) and OPT, and
// gradient accumulation over half-batches.
import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing
@testable import Transformer

/// max |a − b| ≤ 1e-4 of the reference tensor's largest |entry|.
func expectGradClose(_ got: [Float], _ ref: [Float], _ what: String, rel: Float = 1e-4, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == ref.count, "\(what): \(got.count) vs \(ref.count) values", sourceLocation: sourceLocation)
    guard got.count == ref.count else { return }
    let d = maxAbsDiff(got, ref), tol = rel * max(ref.reduce(0) { max($0, abs($1)) }, 1e-12)
    #expect(d <= tol, "\(what): max abs diff \(d) > \(tol)", sourceLocation: sourceLocation)
}

/// The layer's parameters under their names relative to the layer (`self_attn.q_proj.weight`).
func layerParameters(_ l: DecoderLayer, _ a: Architecture) -> [String: Tensor] {
    let n = TensorNames(a), p = n.layer(0)
    var out: [String: Tensor] = [:]
    func add(_ base: String, _ w: Tensor, _ b: Tensor?) {
        let rel = String(base.dropFirst(p.count))
        out[rel + ".weight"] = w
        if let b { out[rel + ".bias"] = b }
    }
    add(n.attentionNorm(0), l.attentionNorm.weight, l.attentionNorm.bias)
    add(n.mlpNorm(0), l.mlpNorm.weight, l.mlpNorm.bias)
    add(n.q(0), l.q.weight, l.q.bias); add(n.k(0), l.k.weight, l.k.bias)
    add(n.v(0), l.v.weight, l.v.bias); add(n.o(0), l.o.weight, l.o.bias)
    if let q = l.qNorm { add(n.qNorm(0), q.weight, q.bias) }
    if let k = l.kNorm { add(n.kNorm(0), k.weight, k.bias) }
    if let g = l.gate { add(n.gate(0), g.weight, g.bias) }
    add(n.up(0), l.up.weight, l.up.bias); add(n.down(0), l.down.weight, l.down.bias)
    return out
}

@Suite("backward")
struct BackwardTests {
    @Test func llamaGradientsMatchTransformers() throws {
        let m = try loadFixtureModel("llama")
        let f = try SafetensorsFile(Fixtures.model("llama").appendingPathComponent("grads.safetensors"))
        let ids = try ids2D(f, "input_ids")
        let (loss, grads) = try m.gradients(ids: ids)
        let refLoss = Double(try f.tensor("loss").data[0])
        #expect(abs(loss - refLoss) < 1e-5, "loss \(loss) vs \(refLoss)")
        let refNames = Set(f.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        #expect(Set(grads.keys) == refNames)
        #expect(refNames.count == 57)
        for n in refNames.sorted() {
            guard let g = grads[n] else { continue }
            let ref = try f.tensor("grad." + n)
            #expect(g.shape == ref.shape, "\(n) shape")
            expectGradClose(g.data, ref.data, n)
        }
        // Ids never used as an input of a scored position get exactly zero rows (README §3.1).
        let e = grads["model.embed_tokens.weight"]!, H = m.hiddenSize
        #expect(e.data[(350 * H)..<(351 * H)].allSatisfy { $0 == 0 })
    }

    @Test func layer2BackwardMatchesTransformers() throws {
        let m = try loadFixtureModel("llama")
        let f = try SafetensorsFile(Fixtures.model("llama").appendingPathComponent("layer2_backward.safetensors"))
        let layer = m.layers[2]
        let params = layerParameters(layer, m.config.architecture)
        for (n, t) in params { #expect(t.data == (try f.tensor("param." + n)).data, "param.\(n)") }
        let input = try f.tensor("input"), R = try f.tensor("R")
        let ctx = try m.layerContext(batch: 2, length: 24, positionIds: try ids2D(f, "position_ids"))
        let (y, tape) = m.layerForwardSaving(layer, x: input.data, context: ctx)
        expectGradClose(y, try f.tensor("output").data, "output")
        let objective = zip(y, R.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let refObjective = Double(try f.tensor("objective").data[0])
        #expect(abs(objective - refObjective) <= 1e-4 * max(1, abs(refObjective)))
        let (dx, g) = m.layerBackward(layer, tape: tape, dOutput: R.data, context: ctx)
        expectGradClose(dx, try f.tensor("grad.input").data, "grad.input")
        let grads = layerParameters(g, m.config.architecture)
        #expect(grads.count == 9)
        for (n, t) in grads { expectGradClose(t.data, try f.tensor("grad." + n).data, "grad.\(n)") }
    }

    @Test func halfBatchesAccumulateToTheFullBatch() throws {
        let m = try loadFixtureModel("llama")
        let out = try SafetensorsFile(Fixtures.model("llama").appendingPathComponent("outputs.safetensors"))
        let ids = try ids2D(out, "batch1.input_ids")
        let (full, gFull) = try m.backward(ids)
        let (l0, g0) = try m.backward([ids[0]])
        var (l1, acc) = try m.backward([ids[1]])
        acc.addParameters(g0)
        l1 += l0
        // Both halves hold T − 1 pairs: the full batch's mean is the mean of the two.
        #expect(abs(l1 / 2 - full) < 1e-6)
        let want = Dictionary(uniqueKeysWithValues: gFull.namedTensors().map { ($0.name, $0.tensor) })
        for (n, t) in acc.namedTensors() {
            expectGradClose(t.data.map { $0 / 2 }, want[n]!.data, "accumulated \(n)", rel: 1e-5)
        }
    }

    /// Central differences of the fp32 loss on the entries with the largest gradient of a
    /// few parameters of each kind (biases, q/k norms, OPT's positions and LayerNorms).
    @Test(arguments: [
        ("qwen2", ["model.layers.1.self_attn.q_proj.bias", "model.layers.3.self_attn.v_proj.bias", "model.layers.0.self_attn.k_proj.weight",
                   "model.layers.5.mlp.gate_proj.weight", "model.norm.weight"]),
        ("qwen3", ["model.layers.2.self_attn.q_norm.weight", "model.layers.4.self_attn.k_norm.weight", "model.layers.1.self_attn.q_proj.weight"]),
        ("mistral", ["model.layers.0.self_attn.k_proj.weight", "model.layers.4.self_attn.q_proj.weight", "model.embed_tokens.weight"]),
        ("opt", ["model.decoder.embed_positions.weight", "model.decoder.layers.1.self_attn.out_proj.bias", "model.decoder.layers.2.fc1.bias",
                 "model.decoder.layers.3.self_attn_layer_norm.bias", "model.decoder.final_layer_norm.weight", "model.decoder.embed_tokens.weight",
                 "model.decoder.layers.0.self_attn.k_proj.weight"]),
        ("llama_tied", ["model.embed_tokens.weight", "model.layers.5.mlp.down_proj.weight"]),
    ])
    func finiteDifferencesThroughTheModel(name: String, params: [String]) throws {
        let m = try loadFixtureModel(name)
        let out = try SafetensorsFile(Fixtures.model(name).appendingPathComponent("outputs.safetensors"))
        // The left-padded batch: padding, and for mistral positions past its window of 8.
        let ids = try ids2D(out, "batch2.input_ids"), mask = try ids2D(out, "batch2.attention_mask")
        let (_, grads) = try m.backward(ids, mask: mask)
        let named = Dictionary(uniqueKeysWithValues: grads.namedTensors().map { ($0.name, $0.tensor) })
        var tensors = Dictionary(uniqueKeysWithValues: m.namedTensors().map { ($0.name, $0.tensor) })
        func loss(_ ts: [String: Tensor]) throws -> Double {
            let mm = try Model(config: m.config, tensors: ts)
            let r = try mm.forward(ids, options: ForwardOptions(attentionMask: mask, logits: .none))
            let l = mm.shiftedLosses(r, ids: ids)
            return l.reduce(0, +) / Double(l.count)
        }
        for p in params {
            let g = try #require(named[p], "\(name): no gradient for \(p)")
            let order = g.data.indices.sorted { abs(g.data[$0]) > abs(g.data[$1]) }
            for i in order.prefix(2) {
                let v = tensors[p]!.data[i], h: Float = 1e-2
                tensors[p]!.data[i] = v + h; let up = try loss(tensors)
                tensors[p]!.data[i] = v - h; let dn = try loss(tensors)
                tensors[p]!.data[i] = v
                let fd = (up - dn) / Double(2 * h), an = Double(g.data[i])
                #expect(abs(fd - an) <= 3e-2 * abs(an) + 2e-4, "\(name) \(p)[\(i)]: analytic \(an), finite differences \(fd)")
            }
        }
    }

    /// Attention's backward (GQA, causal, padding, window, segments) against central
    /// differences of a float64 attention written from the masking rules.
    @Test(arguments: [(nil, false, false), (3, false, false), (nil, true, false), (4, true, false), (nil, false, true)] as [(Int?, Bool, Bool)])
    func attentionBackwardMatchesFiniteDifferences(window: Int?, padded: Bool, segmented: Bool) {
        var g = LCGen(s: 21)
        let T = 7, nh = 4, nkv = 2, hd = 4, qDim = nh * hd, kvDim = nkv * hd
        let q = g.array(T * qDim), k = g.array(T * kvDim), v = g.array(T * kvDim), R = g.array(T * qDim)
        let mask: [Int32]? = padded ? [0, 0, 1, 1, 1, 1, 1] : nil
        let seg: [Int32]? = segmented ? [0, 0, 0, 1, 1, 2, 2] : nil
        let scale = 1 / Float(hd).squareRoot()
        func visible(_ i: Int, _ j: Int) -> Bool {
            j <= i && (window.map { j > i - $0 } ?? true) && (mask.map { $0[j] != 0 } ?? true)
                && (seg.map { $0[j] == 0 || $0[j] == $0[i] } ?? true)
        }
        func attention64(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            var total = 0.0
            for h in 0..<nh {
                let gi = h / (nh / nkv)
                for i in 0..<T {
                    let js = (0..<T).filter { visible(i, $0) }
                    guard !js.isEmpty else { continue }
                    let s = js.map { j in (0..<hd).map { q[i * qDim + h * hd + $0] * k[j * kvDim + gi * hd + $0] }.reduce(0, +) * Double(scale) }
                    let m = s.max()!, e = s.map { exp($0 - m) }, z = e.reduce(0, +)
                    for c in 0..<hd {
                        let o = zip(js, e).map { v[$0.0 * kvDim + gi * hd + c] * $0.1 / z }.reduce(0, +)
                        total += Double(R[i * qDim + h * hd + c]) * o
                    }
                }
            }
            return total
        }
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * Attention.scratchSize(queries: T, keys: T))
        defer { scratch.deallocate() }
        func run(_ m: UnsafePointer<Int32>?, _ s: UnsafePointer<Int32>?) {
            Attention.backward(q: q, qStride: qDim, k: k, v: v, kvStride: kvDim, dOut: R, oStride: qDim, dq: &dq, dk: &dk, dv: &dv,
                               queries: T, keys: T, heads: nh, kvHeads: nkv, headDim: hd, queryOffset: 0, keyMask: m, segments: s,
                               window: window, scale: scale, kvHeadRange: 0..<nkv, scratch: scratch)
        }
        switch (mask, seg) {
        case (let m?, _): run(m, nil)
        case (nil, let s?): run(nil, s)
        default: run(nil, nil)
        }
        let qd = q.map(Double.init), kd = k.map(Double.init), vd = v.map(Double.init)
        func num(_ x: [Float], _ f: ([Double]) -> Double) -> [Float] {
            var xd = x.map(Double.init)
            return (0..<x.count).map { i in
                let o = xd[i]; xd[i] = o + 1e-5; let a = f(xd); xd[i] = o - 1e-5; let b = f(xd); xd[i] = o
                return Float((a - b) / 2e-5)
            }
        }
        expectGradClose(dq, num(q) { attention64($0, kd, vd) }, "dq")
        expectGradClose(dk, num(k) { attention64(qd, $0, vd) }, "dk")
        expectGradClose(dv, num(v) { attention64(qd, kd, $0) }, "dv")
    }
}

struct LCGen {
    var s: UInt64
    mutating func next() -> Float {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1
    }
    mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}
