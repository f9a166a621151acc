// The engine's values as the language sees them: a model and a token corpus, each with
// fields for `m.layers`-style access, a one-line summary, a full display and a cached
// fingerprint for the session log.
import Foundation
import Script
import Tensors
import Tokenizers
import Transformer

public final class ModelObject: HostObject {
    public let model: Model
    private var cachedFingerprint: String?

    public init(_ model: Model) { self.model = model }

    public var typeName: String { "model" }
    public var summary: String {
        let c = model.config
        return "<model \(c.architecture.modelType), \(model.numLayers) layers, \(formatCount(model.parameterCount)) parameters>"
    }
    public var fieldNames: [String] {
        ["architecture", "layers", "hidden_size", "heads", "kv_heads", "head_dim", "intermediate_size", "vocab_size",
         "parameters", "source", "merge_tree"]
    }
    public func field(_ name: String) -> Value? {
        switch name {
        case "architecture": return .string(model.config.architecture.rawValue)
        case "layers": return .int(model.numLayers)
        case "hidden_size": return .int(model.hiddenSize)
        case "heads": return .int(model.layers.first?.numHeads ?? model.config.numHeads)
        case "kv_heads": return .int(model.layers.first?.numKVHeads ?? model.config.numKVHeads)
        case "head_dim": return .int(model.config.headDim)
        case "intermediate_size": return .int(model.layers.first?.intermediateSize ?? model.config.intermediateSize)
        case "vocab_size": return .int(model.vocabSize)
        case "parameters": return .int(model.parameterCount)
        case "source": return .string(model.source)
        case "merge_tree": return .string(model.mergeTree.current.map(\.description).joined(separator: ", "))
        default: return nil
        }
    }
    public var fingerprint: String? {
        if let f = cachedFingerprint { return f }
        let f = Fingerprint.model(model)
        cachedFingerprint = f
        return f
    }
    public func render(_ options: DisplayOptions) -> String { model.summary }
}

/// A text data set (rows already joined as its protocol says); token streams are made
/// per tokenizer on first use and kept.
public final class CorpusObject: HostObject {
    public let name: String
    public let source: String
    public let text: String
    /// C4's reference protocol keeps the first 256·S tokens; nil = all.
    public let windowCap: Int?
    private var cachedFingerprint: String?
    private var tokenCache: [ObjectIdentifier: [Int]] = [:]

    public init(name: String, source: String, text: String, windowCap: Int? = nil) {
        self.name = name; self.source = source; self.text = text; self.windowCap = windowCap
    }

    public func tokens(_ tok: Tokenizer) -> [Int] {
        if let t = tokenCache[ObjectIdentifier(tok)] { return t }
        let t = tok.encode(text)
        tokenCache[ObjectIdentifier(tok)] = t
        return t
    }

    public var typeName: String { "corpus" }
    public var summary: String { "<corpus \(name), \(text.utf8.count) bytes>" }
    public var fieldNames: [String] { ["name", "source", "bytes"] }
    public func field(_ f: String) -> Value? {
        switch f {
        case "name": return .string(name)
        case "source": return .string(source)
        case "bytes": return .int(text.utf8.count)
        default: return nil
        }
    }
    public var fingerprint: String? {
        if let f = cachedFingerprint { return f }
        let f = Fingerprint.text(text)
        cachedFingerprint = f
        return f
    }
    public func render(_ options: DisplayOptions) -> String { summary + "\n  from " + source }
}
