// Saving a model as a Hugging Face folder (config.json + model.safetensors, or shards + index)
// that transformers' from_pretrained reads. The folder is built complete under a temporary
// sibling name and only then renamed into place, replacing any previous one.
import Foundation
import Tensors

public enum CheckpointWriter {
    /// Writes `tensors` (HF names, in order) as `dtype`, and config.json from
    /// `config.jsonObject(extra:)` with `dtype` set and `extraConfig` applied last. `files`
    /// adds other files by name (tokenizer.json, generation_config.json, …). With
    /// `maxShardBytes`, weights are sharded as save_pretrained(max_shard_size=) does.
    /// The tensors are checked against the config's tensor table first.
    public static func save(config: ModelConfig, tensors: [(String, Tensor)], to folder: URL,
                            dtype: StorageDType = .f32, extraConfig: [String: JSONValue] = [:],
                            files: [String: Data] = [:], maxShardBytes: Int? = nil) throws {
        guard dtype.isWritable else { throw CheckpointError(folder, "cannot save weights as \(dtype.rawValue) (F32, F16, BF16 only)") }
        var shapes: [String: [Int]] = [:]
        for (n, t) in tensors {
            guard shapes[n] == nil else { throw CheckpointError(folder, field: n, "tensor given twice") }
            shapes[n] = t.shape
        }
        try config.checkTensors(shapes, file: folder.path)
        for name in files.keys {
            guard !name.isEmpty, !name.contains("/"), name != "config.json", !name.hasSuffix(".safetensors"),
                  name != ShardedSafetensors.indexName else {
                throw CheckpointError(folder, field: name, "extra file name must be a plain name other than the weights and config.json")
            }
        }
        let fm = FileManager.default
        let tmp = AtomicFile.temporarySibling(of: folder)
        do {
            try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
            let named = tensors.map { (name: $0.0, tensor: $0.1) }
            let meta = ["format": "pt"]  // transformers refuses safetensors without it
            if let max = maxShardBytes {
                try ShardedSafetensors.write(named, to: tmp, maxShardBytes: max, dtype: dtype, metadata: meta)
            } else {
                try Safetensors.write(named, to: tmp.appendingPathComponent("model.safetensors"), dtype: dtype, metadata: meta)
            }
            var extra: [String: JSONValue] = ["dtype": .string(dtype.configName)]
            for (k, v) in extraConfig { extra[k] = v }
            let json = JSONValue.object(config.jsonObject(extra: extra)).serialized() + "\n"
            try AtomicFile.write(tmp.appendingPathComponent("config.json"), data: Data(json.utf8))
            for (name, data) in files {
                try AtomicFile.write(tmp.appendingPathComponent(name), data: data)
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
        try replace(folder, with: tmp)
    }

    /// Moves the finished `tmp` folder to `folder`; an existing `folder` is set aside first
    /// and deleted only once the new one is in place (restored if the move fails).
    static func replace(_ folder: URL, with tmp: URL) throws {
        let fm = FileManager.default
        var old: URL? = nil
        if fm.fileExists(atPath: folder.path) {
            let aside = AtomicFile.temporarySibling(of: folder, tag: "old")
            do { try AtomicFile.rename(folder, to: aside) } catch {
                try? fm.removeItem(at: tmp)
                throw error
            }
            old = aside
        }
        do {
            try AtomicFile.rename(tmp, to: folder)
        } catch {
            if let old { try? AtomicFile.rename(old, to: folder) }
            try? fm.removeItem(at: tmp)
            throw error
        }
        if let old { try? fm.removeItem(at: old) }
    }
}
