// Text generation with a KV cache: greedy or sampled (temperature, top-k, top-p, seeded),
// stopping at EOS. Batch 1; the prompt is processed in one pass, then one token a step.
import Foundation
import Tensors

public final class KVCache {
    public final class Slot {
        var k: [Float] = []
        var v: [Float] = []
        let kvDim: Int
        public private(set) var length = 0
        init(kvDim: Int) { self.kvDim = kvDim }

        func append(k newK: [Float], v newV: [Float], rows: Int) {
            k.append(contentsOf: newK)
            v.append(contentsOf: newV)
            length += rows
        }
        func withBuffers(_ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
            k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in body(kp.baseAddress!, vp.baseAddress!) } }
        }
    }
    public let slots: [Slot]
    public init(model: Model) { slots = model.layers.map { Slot(kvDim: $0.numKVHeads * $0.headDim) } }
    public var length: Int { slots.first?.length ?? 0 }
}

public struct SamplingOptions: Sendable {
    public var maxNewTokens: Int = 32
    /// 0 = greedy.
    public var temperature: Float = 0
    public var topK: Int = 0
    public var topP: Float = 1
    public var seed: UInt64 = 0
    public var stopAtEOS = true
    public init(maxNewTokens: Int = 32, temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0, stopAtEOS: Bool = true) {
        self.maxNewTokens = maxNewTokens; self.temperature = temperature; self.topK = topK
        self.topP = topP; self.seed = seed; self.stopAtEOS = stopAtEOS
    }
}

/// SplitMix64: a small, seedable generator so a sampled run repeats exactly.
public struct SplitMix64: RandomNumberGenerator {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Model {
    /// Runs `ids` (batch 1) through the model, appending keys and values to `cache`;
    /// returns the logits of the last position.
    public func step(_ ids: [Int], cache: KVCache) throws -> [Float] {
        let T = ids.count, past = cache.length
        let positions = [Array(past..<(past + T))]
        var x = embed([ids], positions: positions)
        let ctx = makeContext(B: 1, T: T, positions: positions, mask: nil, past: past)
        for (l, layer) in layers.enumerated() {
            layerForward(layer, x: &x, ctx: ctx, cache: cache.slots[l])
        }
        let H = hiddenSize
        let lastRow = Array(x[((T - 1) * H)..<(T * H)])
        return project(finalNorm.apply(lastRow, rows: 1), rows: 1)
    }

    /// Generates up to maxNewTokens after `prompt`; `onToken` sees each new id as it comes
    /// and may return false to stop.
    public func generate(prompt: [Int], options: SamplingOptions = SamplingOptions(),
                         onToken: ((Int) -> Bool)? = nil) throws -> [Int] {
        guard !prompt.isEmpty else { throw ModelError("generate: empty prompt") }
        let cache = KVCache(model: self)
        var rng = SplitMix64(seed: options.seed)
        var logits = try step(prompt, cache: cache)
        var out: [Int] = []
        let eos = Set(config.eosTokenIds + (tokenizer?.eosId.map { [$0] } ?? []))
        for _ in 0..<options.maxNewTokens {
            let next = Model.sample(logits, options: options, rng: &rng)
            out.append(next)
            if let f = onToken, !f(next) { break }
            if options.stopAtEOS && eos.contains(next) { break }
            // The last token's own logits are never used: stepping it would cost one more pass.
            if out.count == options.maxNewTokens { break }
            logits = try step([next], cache: cache)
        }
        return out
    }

    public static func sample(_ logits: [Float], options: SamplingOptions, rng: inout SplitMix64) -> Int {
        if options.temperature <= 0 { return argmax(logits) }
        var idx = Array(0..<logits.count)
        idx.sort { logits[$0] > logits[$1] }
        if options.topK > 0 && options.topK < idx.count { idx = Array(idx.prefix(options.topK)) }
        let m = logits[idx[0]]
        var p = idx.map { Double(expf((logits[$0] - m) / options.temperature)) }
        let total = p.reduce(0, +)
        p = p.map { $0 / total }
        if options.topP < 1 {
            var acc = 0.0, keep = 0
            for (i, pi) in p.enumerated() { acc += pi; keep = i + 1; if acc >= Double(options.topP) { break } }
            idx = Array(idx.prefix(keep)); p = Array(p.prefix(keep))
            let t = p.reduce(0, +); p = p.map { $0 / t }
        }
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var acc = 0.0
        for (i, pi) in p.enumerated() { acc += pi; if u < acc { return idx[i] } }
        return idx.last!
    }
}

public func argmax(_ x: [Float]) -> Int {
    var best = 0
    for i in 1..<x.count where x[i] > x[best] { best = i }
    return best
}
