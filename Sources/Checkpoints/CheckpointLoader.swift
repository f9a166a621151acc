// The one entry point the model code loads weights through: an HF folder (config.json +
// model.safetensors or a sharded index) or a GGUF file, returned as fp32 tensors under HF
// names in HF layout, checked against the architecture's tensor table.
import Foundation
import Tensors

public struct LoadedCheckpoint: @unchecked Sendable {
    public var config: ModelConfig
    /// HF names, fp32, HF layout (linear weights [out, in]).
    public var tensors: [String: Tensor]
    /// HF names in storage order.
    public var order: [String]
    public var source: URL
    /// "safetensors" or "gguf".
    public var format: String
    /// The GGUF file, for its tokenizer metadata (nil for safetensors).
    public var gguf: GGUFFile?
}

public enum CheckpointLoader {
    public static func load(_ url: URL) throws -> LoadedCheckpoint {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CheckpointError(url, "does not exist")
        }
        if isDir.boolValue { return try loadFolder(url, weights: nil) }
        switch url.pathExtension.lowercased() {
        case "gguf": return try loadGGUF(url)
        case "safetensors": return try loadFolder(url.deletingLastPathComponent(), weights: url)
        default:
            throw CheckpointError(url, "expected a folder with config.json and model.safetensors (or \(ShardedSafetensors.indexName)), a .safetensors file beside a config.json, or a .gguf file")
        }
    }

    static func loadFolder(_ folder: URL, weights: URL?) throws -> LoadedCheckpoint {
        let configURL = folder.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw CheckpointError(folder, "no config.json")
        }
        let config = try ModelConfig.load(configURL)
        let single = weights ?? folder.appendingPathComponent("model.safetensors")
        let index = folder.appendingPathComponent(ShardedSafetensors.indexName)
        let source: TensorSource
        let sourceURL: URL
        if FileManager.default.fileExists(atPath: single.path) {
            source = try SafetensorsFile(single)
            sourceURL = single
        } else if FileManager.default.fileExists(atPath: index.path) {
            source = try ShardedSafetensors(index: index)
            sourceURL = index
        } else {
            throw CheckpointError(folder, "no model.safetensors and no \(ShardedSafetensors.indexName)")
        }
        // OPT checkpoints saved from the base model lack the `model.` prefix.
        func hfName(_ n: String) -> String {
            config.architecture == .opt && n.hasPrefix("decoder.") ? "model." + n : n
        }
        let names = source.names.filter { !ModelConfig.isIgnorableTensor($0) }
        var shapes: [String: [Int]] = [:]
        for n in names { shapes[hfName(n)] = source.info(n)!.shape }
        try config.checkTensors(shapes, file: sourceURL.path)
        var tensors: [String: Tensor] = [:]
        for n in names { tensors[hfName(n)] = try source.tensor(n) }
        return LoadedCheckpoint(config: config, tensors: tensors, order: names.map(hfName), source: folder,
                                format: "safetensors", gguf: nil)
    }

    static func loadGGUF(_ url: URL) throws -> LoadedCheckpoint {
        let gguf = try GGUFFile(url)
        let config = try gguf.modelConfig()
        let arch = gguf.architecture ?? ""
        var shapes: [String: [Int]] = [:]
        var hfNames: [String] = []
        for info in gguf.tensorInfos {
            guard let hf = GGUFNames.hfName(info.name) else {
                throw CheckpointError(url, field: info.name, "no Hugging Face name for this GGUF tensor")
            }
            guard shapes[hf] == nil else { throw CheckpointError(url, field: info.name, "maps to \(hf) twice") }
            shapes[hf] = info.shape
            hfNames.append(hf)
        }
        try config.checkTensors(shapes, file: url.path)
        var tensors: [String: Tensor] = [:]
        for (info, hf) in zip(gguf.tensorInfos, hfNames) {
            tensors[hf] = try ggufTensor(gguf, info, architecture: arch, config: config)
        }
        gguf.releaseMappedPages()
        return LoadedCheckpoint(config: config, tensors: tensors, order: hfNames, source: url, format: "gguf", gguf: gguf)
    }

    /// One GGUF tensor in HF layout: dequantised, with llama's Q/K rows put back in HF order.
    static func ggufTensor(_ gguf: GGUFFile, _ info: GGUFTensorInfo, architecture: String, config: ModelConfig) throws -> Tensor {
        guard let heads = GGUFNames.permutedHeads(info.name, architecture: architecture,
                                                  heads: config.numHeads, kvHeads: config.numKVHeads) else {
            return try gguf.tensor(info, rowMap: nil)
        }
        let out = info.shape[0]
        guard out % (2 * heads) == 0 else {
            throw CheckpointError(gguf.url, field: info.name, "\(out) rows do not split into \(heads) heads of even size")
        }
        let hd = out / heads
        if info.ne.count == 1 {
            // A bias: its elements are the rows.
            let t = try gguf.tensor(info, rowMap: nil)
            var d = t.data
            for g in 0..<out { d[GGUFNames.hfRow(ofGGUFRow: g, headDim: hd)] = t.data[g] }
            return Tensor(shape: t.shape, data: d)
        }
        return try gguf.tensor(info) { GGUFNames.hfRow(ofGGUFRow: $0, headDim: hd) }
    }
}
