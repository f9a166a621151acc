// Resolving what a user names as a model: `default` (the SmolLM2 GGUF placed by
// scripts/setup), a GGUF file, or an HF folder. A hub name is refused with directions:
// come never downloads weights.
import Checkpoints
import Foundation
import Tokenizers

extension Model {
    public static let defaultModelFile = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The default model's path: COME_DEFAULT_MODEL, else models/… under the current
    /// directory or above the executable (the repository it was built in).
    public static func defaultModelURL() throws -> URL {
        if let e = ProcessInfo.processInfo.environment["COME_DEFAULT_MODEL"] { return URL(fileURLWithPath: e) }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(defaultModelFile)]
        var u = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 { candidates.append(u.appendingPathComponent(defaultModelFile)); u.deleteLastPathComponent() }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        throw ModelError("the default model is not in place (looked for \(defaultModelFile)); run scripts/setup, or set COME_DEFAULT_MODEL to a GGUF file")
    }

    public static func resolve(_ spec: String) throws -> URL {
        if spec == "default" { return try defaultModelURL() }
        let url = URL(fileURLWithPath: (spec as NSString).expandingTildeInPath)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        let parts = spec.split(separator: "/")
        if parts.count == 2, !spec.hasPrefix("."), !spec.hasPrefix("/"), !spec.hasPrefix("~"), !spec.hasSuffix(".gguf") {
            throw ModelError("""
                `\(spec)` looks like a model hub name, and come never downloads weights. \
                Put a local copy on this machine (an HF folder with config.json and *.safetensors, or a .gguf file) \
                and pass its path, e.g. `load("/data/\(parts[1])")`; `default` is the SmolLM2-135M model scripts/setup places.
                """)
        }
        throw ModelError("\(spec): no such file or folder (expected a .gguf file, an HF checkpoint folder, or `default`)")
    }

    /// Loads weights, config and tokenizer.
    public static func load(_ spec: String) throws -> Model {
        let url = try resolve(spec)
        let ckpt = try CheckpointLoader.load(url)
        var tokenizer: Tokenizer? = nil
        if let g = ckpt.gguf {
            tokenizer = try ggufTokenizer(g)
        } else {
            let tj = url.appendingPathComponent("tokenizer.json")
            if FileManager.default.fileExists(atPath: tj.path) { tokenizer = try Tokenizer.load(tj) }
        }
        var config = ckpt.config
        if let g = ckpt.gguf {
            // What the file stores, e.g. "GGUF Q4_1 ×210, F32 ×61, Q8_0 ×1" (weights are fp32 in memory).
            var counts: [String: Int] = [:]
            for t in g.tensorInfos { counts[t.type.name, default: 0] += 1 }
            config.dtype = "GGUF " + counts.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        }
        var m = try Model(config: config, tensors: ckpt.tensors, tokenizer: tokenizer, source: url.path)
        if let tree = ckpt.config.raw["come_merge_tree"], let t = MergeTree(json: tree) { m.mergeTree = t }
        if let g = ckpt.gguf {
            if let meta = try? g.tokenizerMetadata() { m.auxiliaryFiles = ModelSaver.tokenizerFiles(meta) }
        } else {
            var isDir: ObjCBool = false
            let folder = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue ? url : url.deletingLastPathComponent()
            m.auxiliaryFiles = ModelSaver.filesBeside(folder)
        }
        return m
    }

    static func ggufTokenizer(_ g: GGUFFile) throws -> Tokenizer? {
        guard try g.string("tokenizer.ggml.model") != nil else { return nil }
        let t = try g.tokenizerMetadata()
        return try Tokenizer.fromGGUF(
            model: t.model, pre: t.pre, tokens: t.tokens, scores: t.scores, tokenTypes: t.tokenTypes,
            merges: t.merges, bosId: t.bosTokenId, eosId: t.eosTokenId, unkId: t.unknownTokenId,
            padId: t.paddingTokenId, addBOS: t.addBosToken, addEOS: t.addEosToken,
            addSpacePrefix: try g.bool("tokenizer.ggml.add_space_prefix"))
    }
}
