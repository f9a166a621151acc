// bench-train: throughput of the backward pass on the default model (SmolLM2-135M): a
// full-model backward (forward with tapes, loss, backward) at 1×T, the share of its time
// spent inside BLAS GEMM calls (GEMMClock), one layer's forward-with-tape + backward alone,
// and the peak RSS. Medians of --reps runs, one table. Its own small target so a release
// build needs only the model modules. Usage: bench-train [MODEL] [--reps N] [--tokens T]
import Foundation
import Tensors
import Transformer


var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ def: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return def }
    args.removeSubrange(i...(i + 1))
    return v
}
let reps = option("--reps", 3), T = option("--tokens", 256)
let path = args.first ?? "default"

let t0 = Date()
let m = try Model.load(path)
let loadSeconds = Date().timeIntervalSince(t0)
let rssLoaded = peakRSSBytes()
var s: UInt64 = 42
let ids = [(0..<T).map { _ -> Int in s = s &* 6364136223846793005 &+ 1442695040888963407; return Int(s >> 33) % m.vocabSize }]

func time(_ body: () throws -> Void) rethrows -> Double { let a = Date(); try body(); return Date().timeIntervalSince(a) }

// Forward only (same tokens, loss from the final hidden states), for the ratio.
_ = try m.sequenceLoss(ids)
let fwd = try (0..<reps).map { _ in try time { _ = try m.sequenceLoss(ids) } }
// Full backward, with the GEMM clock on.
_ = try m.backward(ids)
var full: [Double] = [], gemm: [Double] = [], calls = 0, loss = 0.0
for _ in 0..<reps {
    GEMMClock.reset(); GEMMClock.enabled = true
    full.append(try time { loss = try m.backward(ids).loss })
    GEMMClock.enabled = false
    let e = GEMMClock.elapsed
    gemm.append(e.seconds); calls = e.calls
}
let rssBackward = peakRSSBytes()
// One layer alone: forward with tape + backward from a fixed ∂output.
let ctx = try m.layerContext(batch: 1, length: T)
let layer = m.layers[m.numLayers / 2]
var x = [Float](repeating: 0, count: T * m.hiddenSize)
for i in x.indices { s = s &* 6364136223846793005 &+ 1442695040888963407; x[i] = Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1 }
let dy = x.reversed() as [Float]
var layerFwd: [Double] = [], layerBwd: [Double] = []
for _ in 0..<(reps + 1) {
    var tape: LayerTape? = nil
    let a = time { tape = m.layerForwardSaving(layer, x: x, context: ctx).tape }
    let b = time { _ = m.layerBackward(layer, tape: tape!, dOutput: dy, context: ctx) }
    layerFwd.append(a); layerBwd.append(b)
}
layerFwd.removeFirst(); layerBwd.removeFirst()

let tok = Double(T)
print("model \(m.source): \(m.numLayers) layers, hidden \(m.hiddenSize), vocab \(m.vocabSize); \(Threads.count) threads; 1×\(T) tokens; loss \(String(format: "%.4f", loss))")
print("load \(String(format: "%.2f", loadSeconds)) s; peak RSS after load \(rssLoaded >> 20) MiB, after backward \(rssBackward >> 20) MiB")
print("")
func row(_ name: String, _ sec: Double, _ extra: String = "") {
    print(name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%10.3f %12.0f", sec, tok / sec) + "  " + extra)
}
print("measurement".padding(toLength: 34, withPad: " ", startingAt: 0) + "  median_s     tokens/s")
row("forward + loss (no tape)", median(fwd))
row("full backward (fwd+tape+loss+bwd)", median(full), String(format: "%.2f× forward", median(full) / median(fwd)))
row("  of which inside GEMM calls", median(gemm), String(format: "%.0f%% of wall, %d calls (concurrent attention GEMMs each add their own time)", 100 * median(gemm) / median(full), calls))
row("one layer: forward with tape", median(layerFwd))
row("one layer: backward", median(layerBwd))
row("one layer: forward + backward", median(zip(layerFwd, layerBwd).map { $0 + $1 }))
