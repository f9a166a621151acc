// The reference-parity numerics (reference-algorithms.md §3.2 precision, §8.2 point 8):
// fp16/bf16 rounding of the per-token BI terms, fp16 overflow to the NaN → 0.5 path, and
// parity scores on the fp16/bf16 fixture checkpoints staying within their resolution.
@testable import Compression
import Foundation
import TestSupport
import Testing
import Transformer

@Suite("reference-parity numerics")
struct NumericsTests {
    @Test func fp16OverflowGivesHalf() {
        // |x|·|y| beyond 65504: the dot product and the norm product overflow, c = NaN → 0.5.
        let x = [Float](repeating: 300, count: 8), y = [Float](repeating: 300, count: 8)
        let t = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
            Scoring.cosineTerm(xp.baseAddress!, yp.baseAddress!, 8, angular: false, .f16)
        } }
        #expect(t == 0.5)
        let exact = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
            Scoring.cosineTerm(xp.baseAddress!, yp.baseAddress!, 8, angular: false, .none)
        } }
        #expect(exact == 0)
    }

    @Test func bf16QuantisesTerms() {
        let x: [Float] = [1, 0.02, 0, 0], y: [Float] = [1, 0, 0.02, 0]
        let t = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in
            Scoring.cosineTerm(xp.baseAddress!, yp.baseAddress!, 4, angular: false, .bf16)
        } }
        // 1 − c ≈ 4e-4 exactly; bf16 steps near 1 are 2⁻⁸, so the rounded cosine is 1 and the term 0.
        #expect(t == 0)
        #expect(DTypeRounding.bf16(1.0 + 1.0 / 512) == 1.0)
        #expect(DTypeRounding.f16(70000) == .infinity)
    }

    @Test(arguments: ["llama_f16", "llama_bf16"])
    func parityScoresOnHalfCheckpoints(_ name: String) throws {
        let m = try Model.load(Fixtures.model(name).path)
        let rho = DTypeRounding.storage(of: m)
        #expect(rho == (name == "llama_f16" ? .f16 : .bf16))
        let stream = try PruneJob.loadStream(ReferenceRun("cm_llama_bi").url("calibration_stream.safetensors"))
        let w = try stream.windows(seqlen: 32)
        let windows = CalibrationWindows(ids: w.ids, masks: w.masks)
        let exact = try Scoring.score(m, windows: windows)
        let half = try Scoring.score(m, windows: windows, options: ScoreOptions(rounding: rho))
        // Per-token terms move by the dtype's resolution, sums by the same relative amount.
        let tol = rho == .f16 ? 2e-2 : 6e-2
        expectNumbers(half.blockInfluence, exact.blockInfluence, "\(name) BI", rel: tol)
        for l in 0..<m.numLayers {
            #expect(half.neuron[l].allSatisfy { $0.isFinite })
            expectNumbers(half.headGroup[l].map(Double.init), exact.headGroup[l].map(Double.init), "\(name) heads \(l)", rel: tol)
        }
        #expect(half.blockInfluence != exact.blockInfluence)
    }
}
