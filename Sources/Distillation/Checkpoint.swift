// Distillation checkpoints: one safetensors file (written to a temporary name, then
// renamed) holding the finished layers' weights, the current layer's trainable buffers,
// the optimiser's moments, and in its metadata the position in the run (layer, step), the
// data-order generator's state and the remaining order, the loss curves and the options.
// Floats are stored bit-exactly, so a resumed run continues exactly as an uninterrupted one.
import Checkpoints
import Foundation
import Tensors
import Transformer

struct Checkpoint {
    static let fileName = "distill-checkpoint.safetensors"
    var layerIndex: Int
    var step: Int
    var buffers: [[Float]]
    var m: [[Float]]
    var v: [[Float]]
    var rngState: UInt64
    var order: [Int]
    var curve: [Double]
    /// The current layer's objective before its training.
    var currentBefore: Double
    var reports: [LayerReport]
    var finishedLayers: [(Int, DecoderLayer)]

    static func bits(_ xs: [Double]) -> String { xs.map { String($0.bitPattern, radix: 16) }.joined(separator: ",") }
    static func unbits(_ s: String) -> [Double] {
        s.isEmpty ? [] : s.split(separator: ",").map { Double(bitPattern: UInt64($0, radix: 16) ?? 0) }
    }

    func save(_ dir: URL, options o: DistillOptions, student: Model, current: (Int, DecoderLayer)) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var tensors: [(name: String, tensor: Tensor)] = []
        for (k, b) in buffers.enumerated() { tensors.append(("buffer.\(k)", Tensor(shape: [b.count], data: b))) }
        for (k, b) in m.enumerated() { tensors.append(("adam_m.\(k)", Tensor(shape: [b.count], data: b))) }
        for (k, b) in v.enumerated() { tensors.append(("adam_v.\(k)", Tensor(shape: [b.count], data: b))) }
        for (pos, layer) in finishedLayers {
            for p in LayerParameters.list(layer) { tensors.append(("layer.\(pos).\(p.name)", Tensor(shape: p.shape, data: p.data))) }
        }
        let reportJSON = reports.map { r in
            "\(r.position);\(r.originals.map(String.init).joined(separator: " "));\(Checkpoint.bits([r.lossBefore, r.lossAfter, r.seconds]));\(r.tokens);\(Checkpoint.bits(r.curve))"
        }.joined(separator: "|")
        let meta: [String: String] = [
            "format": "come-distill-checkpoint", "version": "1",
            "layer_index": String(layerIndex), "step": String(step),
            "rng_state": String(rngState), "order": order.map(String.init).joined(separator: ","),
            "curve": Checkpoint.bits(curve), "current_before": Checkpoint.bits([currentBefore]), "reports": reportJSON, "finished": finishedLayers.map { String($0.0) }.joined(separator: ","),
            "options": Distiller.describe(o), "student_layers": String(student.numLayers),
            "merge_tree": student.mergeTree.current.map(\.description).joined(separator: ", "),
        ]
        try Safetensors.write(tensors, to: dir.appendingPathComponent(Checkpoint.fileName), metadata: meta)
    }

    static func load(_ dir: URL, options o: DistillOptions, student: Model) throws -> Checkpoint {
        let url = dir.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { throw DistillationError("\(url.path): no checkpoint to resume from") }
        let f = try SafetensorsFile(url)
        let meta = f.metadata
        func field(_ k: String) throws -> String {
            guard let v = meta[k] else { throw DistillationError("\(url.path): metadata field `\(k)` is missing") }
            return v
        }
        guard try field("format") == "come-distill-checkpoint" else { throw DistillationError("\(url.path): not a distillation checkpoint") }
        guard try field("options") == Distiller.describe(o) else {
            throw DistillationError("\(url.path): written with other options (\(try field("options"))); resume with the same ones")
        }
        guard try field("student_layers") == String(student.numLayers),
              try field("merge_tree") == student.mergeTree.current.map(\.description).joined(separator: ", ") else {
            throw DistillationError("\(url.path): written for another student (field `merge_tree`)")
        }
        guard let li = Int(try field("layer_index")), let step = Int(try field("step")), let rng = UInt64(try field("rng_state")) else {
            throw DistillationError("\(url.path): metadata fields layer_index/step/rng_state are not integers")
        }
        let all = try f.tensors()
        func vectors(_ prefix: String) -> [[Float]] {
            var out: [[Float]] = []
            while let t = all["\(prefix).\(out.count)"] { out.append(t.data) }
            return out
        }
        var finished: [(Int, DecoderLayer)] = []
        for s in try field("finished").split(separator: ",") {
            guard let pos = Int(s), pos < student.numLayers else { throw DistillationError("\(url.path): field `finished` names layer \(s)") }
            var layer = student.layers[pos]
            for p in LayerParameters.list(layer) {
                guard let t = all["layer.\(pos).\(p.name)"], t.data.count == p.data.count else {
                    throw DistillationError("\(url.path): tensor layer.\(pos).\(p.name) is missing or the wrong size")
                }
                LayerParameters.set(&layer, p.name, t.data)
            }
            finished.append((pos, layer))
        }
        var reports: [LayerReport] = []
        let rs = try field("reports")
        for r in rs.split(separator: "|") {
            let p = r.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard p.count == 5, let pos = Int(p[0]), let tok = Int(p[3]) else { throw DistillationError("\(url.path): field `reports` is malformed") }
            let nums = unbits(p[2])
            guard nums.count == 3 else { throw DistillationError("\(url.path): field `reports` is malformed") }
            reports.append(LayerReport(position: pos, originals: p[1].split(separator: " ").compactMap { Int($0) }, lossBefore: nums[0],
                                       lossAfter: nums[1], curve: unbits(p[4]), seconds: nums[2], tokens: tok))
        }
        return Checkpoint(layerIndex: li, step: step, buffers: vectors("buffer"), m: vectors("adam_m"), v: vectors("adam_v"),
                          rngState: rng, order: try field("order").split(separator: ",").compactMap { Int($0) },
                          curve: unbits(try field("curve")), currentBefore: unbits(try field("current_before")).first ?? .nan,
                          reports: reports, finishedLayers: finished)
    }
}
