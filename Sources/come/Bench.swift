// `come bench-forward`: sgemm throughput at the model's own shapes, then forward
// throughput of the model at several batch × length shapes and thread counts, in one run,
// so the ratio of the two says how much of the machine the forward pass uses.
import ArgumentParser
import Corpora
import Foundation
import Tensors
import Transformer


struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-forward", abstract: "Benchmark sgemm and the forward pass (prints a table).")
    @Argument(help: "Model (default: the SmolLM2 GGUF).") var path = "default"
    @Option(help: "Repetitions per measurement (median reported).") var reps = 3
    @Option(help: "Thread counts to measure, comma-separated.") var threads = "1,2"

    func run() throws {
        let t0 = Date()
        let m = try Model.load(path)
        let loadSeconds = Date().timeIntervalSince(t0)
        let rssAfterLoad = peakRSSBytes()
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
        let layer = m.layers[0]
        let H = m.hiddenSize
        // Linear layers of one decoder layer plus the LM head: (out, in).
        let shapes: [(String, Int, Int)] = [("q_proj", layer.q.outFeatures, H), ("k/v_proj", layer.k.outFeatures, H),
                                            ("o_proj", H, layer.o.inFeatures), ("gate/up", layer.intermediateSize, H),
                                            ("down", H, layer.intermediateSize), ("lm_head", m.vocabSize, H)]
        print("come bench-forward — \(m.source)")
        print("BLAS: \(Threads.blasConfig)")
        print(String(format: "load: %.2f s, peak RSS after load %@ (fp32 weights %@)\n", loadSeconds, formatBytes(rssAfterLoad), formatBytes(m.parameterCount * 4)))
        if let tok = m.tokenizer, let wiki = try? DataLocations.wikitext2() {
            let text = try TextCorpus.wikitextEvaluationText(wiki)
            var times: [Double] = []
            var n = 0
            for _ in 0..<reps {
                let s = Date()
                n = tok.encode(text).count
                times.append(Date().timeIntervalSince(s))
            }
            print(String(format: "tokenise WikiText-2 test (%.2f MB, rows joined with \"\\n\\n\"): %d tokens in %.3f s (median of %d)\n",
                         Double(text.utf8.count) / 1e6, n, median(times), reps))
        }
        var sgemmRate: [Int: Double] = [:]
        print("sgemm at the model's shapes, M = 2048 rows (GFLOP/s, median of \(reps))")
        print("| shape (N×K) | " + threadCounts.map { "\($0) thr" }.joined(separator: " | ") + " |")
        print("|---|" + threadCounts.map { _ in "---:|" }.joined())
        var totals = [Int: (flop: Double, sec: Double)]()
        for (name, n, k) in shapes {
            var row = "| \(name) \(n)×\(k) |"
            let M = 2048
            let a = [Float](repeating: 0.01, count: M * k), w = [Float](repeating: 0.02, count: n * k)
            var c = [Float](repeating: 0, count: M * n)
            for t in threadCounts {
                Threads.set(t)
                var times: [Double] = []
                for _ in 0..<(reps + 1) {
                    let s = Date()
                    a.withUnsafeBufferPointer { ap in w.withUnsafeBufferPointer { wp in c.withUnsafeMutableBufferPointer { cp in
                        BLAS.linear(ap.baseAddress!, rows: M, inFeatures: k, weight: wp.baseAddress!, outFeatures: n, into: cp.baseAddress!)
                    } } }
                    times.append(Date().timeIntervalSince(s))
                }
                let sec = median(Array(times.dropFirst()))
                let flop = 2.0 * Double(M * n * k)
                // Weighted by how often each shape occurs in a forward pass.
                let mult = name == "lm_head" ? 1.0 : Double(m.layers.count) * (name.contains("/") ? 2 : 1)
                totals[t, default: (0, 0)].flop += flop * mult
                totals[t, default: (0, 0)].sec += sec * mult
                row += String(format: " %.1f |", flop / sec / 1e9)
            }
            print(row)
        }
        for t in threadCounts { sgemmRate[t] = totals[t]!.flop / totals[t]!.sec / 1e9 }
        print("| **forward mix** |" + threadCounts.map { String(format: " **%.1f** |", sgemmRate[$0]!) }.joined())
        print("")
        print("forward (layers + LM head over every position, as perplexity needs), median of \(reps)")
        print("| batch×len | threads | tokens/s | GFLOP/s | % of sgemm mix |")
        print("|---|---:|---:|---:|---:|")
        for (b, len) in [(1, 128), (8, 256), (1, 2048)] {
            let ids = (0..<b).map { r in (0..<len).map { ($0 * 7919 + r * 104_729) % m.vocabSize } }
            let flop = forwardFLOPs(m, batch: b, length: len)
            for t in threadCounts {
                Threads.set(t)
                var times: [Double] = []
                for _ in 0..<(reps + 1) {
                    let s = Date()
                    let r = try m.forward(ids, options: ForwardOptions(logits: .none))
                    for row in 0..<b {
                        let hs = Array(r.finalNormOutput.data[(row * len * H)..<((row + 1) * len * H)])
                        _ = m.tokenNLL(normedHidden: hs, rows: len, targets: ids[row])
                    }
                    times.append(Date().timeIntervalSince(s))
                }
                let sec = median(Array(times.dropFirst()))
                let gf = flop / sec / 1e9
                print(String(format: "| %d×%d | %d | %.0f | %.1f | %.0f %% |", b, len, t, Double(b * len) / sec, gf, 100 * gf / sgemmRate[t]!))
            }
        }
        print(String(format: "\npeak RSS of the whole run: %@", formatBytes(peakRSSBytes())))
    }
}

/// Multiply-adds ×2 of the linear layers, the causal attention products and the LM head.
func forwardFLOPs(_ m: Model, batch: Int, length: Int) -> Double {
    let tokens = Double(batch * length)
    var f = 0.0
    for l in m.layers {
        let linear = [l.q, l.k, l.v, l.o, l.up, l.down] + (l.gate.map { [$0] } ?? [])
        f += 2 * tokens * Double(linear.reduce(0) { $0 + $1.weight.count })
        // q·kᵀ and p·v over the causal half: 2 products × 2 flops × T²/2 × hd × heads.
        f += Double(batch) * 2 * Double(length * length) * Double(l.headDim * l.numHeads)
    }
    f += 2 * tokens * Double(m.vocabSize * m.hiddenSize)
    return f
}
