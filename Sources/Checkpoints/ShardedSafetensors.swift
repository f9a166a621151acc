// Sharded safetensors checkpoints as transformers' save_pretrained(max_shard_size=) writes
// them: model-0000k-of-0000n.safetensors files and model.safetensors.index.json, whose
// `weight_map` names the shard of every tensor and `metadata.total_size` sums their bytes.
import Foundation
import Tensors

public struct ShardedSafetensors: TensorSource, @unchecked Sendable {
    public static let indexName = "model.safetensors.index.json"

    public let indexURL: URL
    /// Tensor name → shard file name (relative to the index's folder).
    public let weightMap: [String: String]
    /// Shard file name → the opened shard.
    public let shards: [String: SafetensorsFile]
    /// Tensor names, shard by shard (shards in name order), each shard in storage order.
    public let names: [String]

    public init(index url: URL) throws {
        indexURL = url
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError(url, "cannot read: \(error.localizedDescription)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data, rejectDuplicateKeys: true) } catch {
            throw CheckpointError(url, "not valid JSON: \(error)")
        }
        guard case .object(let map)? = json["weight_map"] else {
            throw CheckpointError(url, field: "weight_map", "missing or not an object")
        }
        var weightMap: [String: String] = [:]
        for (tensor, v) in map {
            guard case .string(let f) = v else { throw CheckpointError(url, field: tensor, "weight_map value is not a file name: \(v)") }
            guard !f.isEmpty, !f.contains("/"), f != "..", f != "." else {
                throw CheckpointError(url, field: tensor, "shard `\(f)` is not a plain file name in this folder")
            }
            weightMap[tensor] = f
        }
        self.weightMap = weightMap
        let folder = url.deletingLastPathComponent()
        var shards: [String: SafetensorsFile] = [:]
        for f in Set(weightMap.values).sorted() {
            let shardURL = folder.appendingPathComponent(f)
            guard FileManager.default.fileExists(atPath: shardURL.path) else {
                let example = weightMap.first { $0.value == f }!.key
                throw CheckpointError(url, field: example, "shard \(f) named in weight_map does not exist in \(folder.path)")
            }
            shards[f] = try SafetensorsFile(shardURL)
        }
        for (tensor, f) in weightMap where shards[f]!.info(tensor) == nil {
            throw CheckpointError(shards[f]!.url, field: tensor, "not in this shard, but \(ShardedSafetensors.indexName) says it is")
        }
        self.shards = shards
        names = shards.keys.sorted().flatMap { f in shards[f]!.names.filter { weightMap[$0] == f } }
    }

    public func info(_ name: String) -> (dtype: StorageDType, shape: [Int])? {
        weightMap[name].flatMap { shards[$0]?.info(name) }
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let f = weightMap[name], let shard = shards[f] else {
            throw CheckpointError(indexURL, field: name, "no such tensor in weight_map")
        }
        return try shard.tensor(name)
    }

    /// The shard holding `name`.
    public func shard(of name: String) -> SafetensorsFile? { weightMap[name].flatMap { shards[$0] } }

    /// Writes `tensors` (in order) into `folder` as shards of at most `maxShardBytes` each (a
    /// single tensor larger than that gets a shard of its own), named like transformers'
    /// `model-00001-of-00003.safetensors`, plus the index. One shard is written as plain
    /// `model.safetensors` without an index, as save_pretrained does. Returns the file names.
    @discardableResult
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to folder: URL, maxShardBytes: Int,
                             dtype: StorageDType = .f32, metadata: [String: String] = [:]) throws -> [String] {
        precondition(maxShardBytes > 0, "maxShardBytes must be positive")
        var groups: [[(name: String, tensor: Tensor)]] = [[]]
        var size = 0
        for t in tensors {
            let bytes = t.tensor.count * dtype.byteSize
            if !groups[groups.count - 1].isEmpty && size + bytes > maxShardBytes {
                groups.append([])
                size = 0
            }
            groups[groups.count - 1].append(t)
            size += bytes
        }
        if groups.count == 1 {
            try Safetensors.write(tensors, to: folder.appendingPathComponent("model.safetensors"), dtype: dtype, metadata: metadata)
            return ["model.safetensors"]
        }
        let n = groups.count
        func pad(_ i: Int) -> String { let s = String(i); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        var files: [String] = []
        var map: [String: JSONValue] = [:]
        for (k, g) in groups.enumerated() {
            let name = "model-\(pad(k + 1))-of-\(pad(n)).safetensors"
            try Safetensors.write(g, to: folder.appendingPathComponent(name), dtype: dtype, metadata: metadata)
            for t in g { map[t.name] = .string(name) }
            files.append(name)
        }
        let total = tensors.reduce(0) { $0 + $1.tensor.count * dtype.byteSize }
        let index: JSONValue = .object([
            "metadata": .object(["total_size": .int(total)]),
            "weight_map": .object(map),
        ])
        try AtomicFile.write(folder.appendingPathComponent(indexName), data: Data((index.serialized() + "\n").utf8))
        return files + [indexName]
    }
}
