// The model: config, fp32 weights in HF layout, an editable layer list and the merge tree.
// A value type: copying a Model shares the weight buffers until one copy changes them.
import Checkpoints
import Foundation
import Tensors
import Tokenizers

public struct ModelError: Error, CustomStringConvertible {
    public let message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

public struct Model: Sendable {
    public var config: ModelConfig
    /// [vocab, hidden]
    public var embedTokens: Tensor
    /// OPT only: [maxPositions + 2, hidden], indexed by position + 2.
    public var embedPositions: Tensor?
    public var layers: [DecoderLayer]
    public var finalNorm: Norm
    /// [vocab, hidden]; nil when tied to embedTokens.
    public var lmHead: Tensor?
    public var mergeTree: MergeTree
    public var tokenizer: Tokenizer?
    /// RoPE inverse frequencies [headDim/2]; empty for OPT.
    public var invFreq: [Float]
    /// Where the weights came from (a path), for summaries and logs.
    public var source: String
    /// Tokenizer and generation files a saved checkpoint carries (name → bytes).
    public var auxiliaryFiles: [String: Data] = [:]

    public var numLayers: Int { layers.count }
    public var hiddenSize: Int { embedTokens.shape[1] }
    public var vocabSize: Int { embedTokens.shape[0] }
    public var outputWeight: Tensor { lmHead ?? embedTokens }
    public var activation: Activation { Activation(hfName: config.hiddenAct) }

    /// Builds the model from HF-named tensors, checking every shape against the config.
    public init(config: ModelConfig, tensors: [String: Tensor], tokenizer: Tokenizer? = nil, source: String = "") throws {
        self.config = config
        self.tokenizer = tokenizer
        self.source = source
        let n = TensorNames(config.architecture)
        let H = config.hiddenSize, hd = config.headDim
        func get(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard let t = tensors[name] else { throw ModelError("\(source): missing tensor \(name) (expected shape \(shape))") }
            guard t.shape == shape else { throw ModelError("\(source): tensor \(name) has shape \(t.shape), config says \(shape)") }
            return t
        }
        func opt(_ name: String, _ shape: [Int]) throws -> Tensor? {
            tensors[name] == nil ? nil : try get(name, shape)
        }
        func linear(_ base: String, _ out: Int, _ inF: Int, bias: Bool) throws -> Linear {
            Linear(weight: try get(base + ".weight", [out, inF]), bias: bias ? try get(base + ".bias", [out]) : try opt(base + ".bias", [out]))
        }
        let isOPT = config.architecture == .opt
        func norm(_ base: String, _ dim: Int) throws -> Norm {
            if isOPT {
                return Norm(kind: .layer, weight: try get(base + ".weight", [dim]), bias: try get(base + ".bias", [dim]), eps: config.normEps)
            }
            return Norm(kind: .rms, weight: try get(base + ".weight", [dim]), eps: config.normEps)
        }
        embedTokens = try get(n.embedTokens, [config.vocabSize, H])
        embedPositions = isOPT ? try get(n.embedPositions, [tensors[n.embedPositions]?.shape[0] ?? config.maxPositionEmbeddings + 2, H]) : nil
        var ls: [DecoderLayer] = []
        for i in 0..<config.numLayers {
            let I = config.intermediateSize
            ls.append(DecoderLayer(
                attentionNorm: try norm(n.attentionNorm(i), H),
                mlpNorm: try norm(n.mlpNorm(i), H),
                q: try linear(n.q(i), config.qDim, H, bias: config.attentionBias),
                k: try linear(n.k(i), config.kvDim, H, bias: config.attentionBias),
                v: try linear(n.v(i), config.kvDim, H, bias: config.attentionBias),
                o: try linear(n.o(i), H, config.qDim, bias: config.outputBias),
                qNorm: config.hasQKNorm ? try norm(n.qNorm(i), hd) : nil,
                kNorm: config.hasQKNorm ? try norm(n.kNorm(i), hd) : nil,
                gate: isOPT ? nil : try linear(n.gate(i), I, H, bias: config.mlpBias),
                up: try linear(n.up(i), I, H, bias: config.mlpBias),
                down: try linear(n.down(i), H, I, bias: config.mlpBias),
                headDim: hd,
                slidingWindow: config.slidingWindowPerLayer[i]))
        }
        layers = ls
        finalNorm = try norm(n.finalNorm, H)
        lmHead = config.tieWordEmbeddings ? nil : try get(n.lmHead, [config.vocabSize, H])
        if config.tieWordEmbeddings, let l = tensors[n.lmHead], l != embedTokens {
            // Some tied checkpoints store lm_head anyway; an untied copy that differs is honoured.
            lmHead = l
        }
        mergeTree = MergeTree(layers: config.numLayers)
        invFreq = config.usesRoPE ? RoPE.inverseFrequencies(headDim: hd, theta: config.ropeTheta, llama3: config.ropeLlama3) : []
    }

    /// Every tensor under its HF name, layers numbered by their current position, in the
    /// order transformers would write them.
    public func namedTensors() -> [(name: String, tensor: Tensor)] {
        let n = TensorNames(config.architecture)
        var out: [(String, Tensor)] = [(n.embedTokens, embedTokens)]
        if let p = embedPositions { out.append((n.embedPositions, p)) }
        func addNorm(_ base: String, _ norm: Norm) {
            out.append((base + ".weight", norm.weight))
            if let b = norm.bias { out.append((base + ".bias", b)) }
        }
        func addLinear(_ base: String, _ l: Linear) {
            out.append((base + ".weight", l.weight))
            if let b = l.bias { out.append((base + ".bias", b)) }
        }
        for (i, l) in layers.enumerated() {
            addNorm(n.attentionNorm(i), l.attentionNorm)
            addLinear(n.q(i), l.q); addLinear(n.k(i), l.k); addLinear(n.v(i), l.v); addLinear(n.o(i), l.o)
            if let qn = l.qNorm { addNorm(n.qNorm(i), qn) }
            if let kn = l.kNorm { addNorm(n.kNorm(i), kn) }
            addNorm(n.mlpNorm(i), l.mlpNorm)
            if let g = l.gate { addLinear(n.gate(i), g) }
            addLinear(n.up(i), l.up); addLinear(n.down(i), l.down)
        }
        addNorm(n.finalNorm, finalNorm)
        if let h = lmHead { out.append((n.lmHead, h)) }
        return out
    }

    /// The config describing the current layer list (layer count, per-layer window types).
    public var currentConfig: ModelConfig {
        var c = config
        c.numLayers = layers.count
        c.slidingWindowPerLayer = layers.map(\.slidingWindow)
        return c
    }

    public var parameterCount: Int {
        embedTokens.count + (embedPositions?.count ?? 0) + layers.reduce(0) { $0 + $1.parameterCount }
            + finalNorm.weight.count + (finalNorm.bias?.count ?? 0) + (lmHead?.count ?? 0)
    }

    // MARK: editing the layer list

    /// Removes the layers at the given current positions; the merge tree records it.
    public mutating func removeLayers(_ positions: [Int]) throws {
        for p in positions where p < 0 || p >= layers.count {
            throw ModelError("layer \(p) does not exist (the model has \(layers.count) layers, 0..\(layers.count - 1))")
        }
        guard Set(positions).count < layers.count else { throw ModelError("cannot remove every layer") }
        for p in Set(positions).sorted(by: >) { layers.remove(at: p) }
        mergeTree.remove(positions)
        config.numLayers = layers.count
    }

    public mutating func insertLayer(_ layer: DecoderLayer, at position: Int, node: MergeNode) throws {
        guard position >= 0 && position <= layers.count else { throw ModelError("insert position \(position) outside 0...\(layers.count)") }
        layers.insert(layer, at: position)
        mergeTree.insert(node, at: position)
        config.numLayers = layers.count
    }

    public mutating func replaceLayer(at position: Int, with layer: DecoderLayer) throws {
        guard position >= 0 && position < layers.count else { throw ModelError("layer \(position) does not exist") }
        layers[position] = layer
    }

    /// Puts `merged` in place of the layers at `positions` (at min(positions)); the merge
    /// tree groups them (§3.9).
    public mutating func replaceLayers(_ positions: [Int], with merged: DecoderLayer) throws {
        let ps = Array(Set(positions)).sorted()
        guard let first = ps.first, ps.last! < layers.count, first >= 0 else { throw ModelError("merge positions \(positions) outside 0..\(layers.count - 1)") }
        layers[first] = merged
        for p in ps.dropFirst().reversed() { layers.remove(at: p) }
        mergeTree.merge(ps)
        config.numLayers = layers.count
    }

    /// One line per fact, for `come info` and the REPL.
    public var summary: String {
        let c = config
        var lines: [String] = []
        lines.append("architecture   \(c.architecture.rawValue)")
        lines.append("source         \(source)")
        lines.append("layers         \(layers.count)" + (layers.count != mergeTree.history[0].count ? " (of \(mergeTree.history[0].count) originally)" : ""))
        lines.append("hidden size    \(hiddenSize)")
        lines.append("heads          \(layers.first?.numHeads ?? c.numHeads) query, \(layers.first?.numKVHeads ?? c.numKVHeads) key/value, head dim \(c.headDim)")
        lines.append("mlp            \(layers.first?.intermediateSize ?? c.intermediateSize) (\(c.hiddenAct))")
        lines.append("vocabulary     \(vocabSize)")
        if c.usesRoPE { lines.append("rope           θ = \(c.ropeTheta)" + (c.ropeLlama3 != nil ? ", llama3 scaling ×\(c.ropeLlama3!.factor)" : "")) }
        if let w = layers.compactMap(\.slidingWindow).first { lines.append("sliding window \(w)") }
        lines.append("embeddings     " + (lmHead == nil ? "tied" : "untied"))
        let p = parameterCount
        lines.append("parameters     \(formatCount(p)) (\(p)), fp32 \(formatBytes(p * 4))")
        lines.append("stored dtype   \(c.dtype)")
        if let t = tokenizer { lines.append("tokenizer      \(t.summary)") }
        return lines.joined(separator: "\n")
    }
}

public func formatCount(_ n: Int) -> String {
    if n >= 1_000_000_000 { return String(format: "%.2fB", Double(n) / 1e9) }
    if n >= 1_000_000 { return String(format: "%.1fM", Double(n) / 1e6) }
    if n >= 1_000 { return String(format: "%.1fK", Double(n) / 1e3) }
    return String(n)
}

public func formatBytes(_ n: Int) -> String {
    let d = Double(n)
    if d >= Double(1 << 30) { return String(format: "%.2f GiB", d / Double(1 << 30)) }
    if d >= Double(1 << 20) { return String(format: "%.1f MiB", d / Double(1 << 20)) }
    if d >= Double(1 << 10) { return String(format: "%.1f KiB", d / Double(1 << 10)) }
    return "\(n) B"
}
