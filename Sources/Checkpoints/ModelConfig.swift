// HF config.json for the five supported causal-LM classes (Llama, Mistral, Qwen2, Qwen3,
// OPT), read by the checkpoint's own key names, with defaults as transformers applies them
// and derived fields computed once. Both RoPE spellings are accepted: transformers 5's
// `rope_parameters` and transformers 4's `rope_theta` + `rope_scaling`.
import Foundation
import Tensors

public enum Architecture: String, Sendable, CaseIterable {
    case llama = "LlamaForCausalLM"
    case mistral = "MistralForCausalLM"
    case qwen2 = "Qwen2ForCausalLM"
    case qwen3 = "Qwen3ForCausalLM"
    case opt = "OPTForCausalLM"

    public var modelType: String {
        switch self {
        case .llama: "llama"
        case .mistral: "mistral"
        case .qwen2: "qwen2"
        case .qwen3: "qwen3"
        case .opt: "opt"
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let file: String
    public let field: String
    public let message: String
    public var description: String { "\(file): field `\(field)`: \(message)" }
}

public struct ModelConfig: Sendable {
    public var architecture: Architecture
    public var hiddenSize: Int
    /// MLP width: `intermediate_size` (Llama family) or `ffn_dim` (OPT).
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var normEps: Float
    public var ropeTheta: Double
    public var ropeLlama3: RoPEScaling?
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool
    /// Bias on o_proj: Llama's `attention_bias` covers q, k, v and o; Qwen2 has q/k/v only.
    public var outputBias: Bool
    public var mlpBias: Bool
    /// Keys a query sees including itself (Mistral), per layer; nil = full attention.
    public var slidingWindowPerLayer: [Int?]
    public var hiddenAct: String
    // OPT
    public var doLayerNormBefore: Bool
    public var wordEmbedProjDim: Int
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    public var padTokenId: Int?
    public var dtype: String
    /// The config as read, so a save keeps every field we do not interpret.
    public var raw: [String: JSONValue]

    public var kvGroups: Int { numHeads / numKVHeads }
    public var qDim: Int { numHeads * headDim }
    public var kvDim: Int { numKVHeads * headDim }
    public var usesRoPE: Bool { architecture != .opt }
    public var hasQKNorm: Bool { architecture == .qwen3 }

    public static let supported = Architecture.allCases.map(\.rawValue).joined(separator: ", ")

    public static func load(_ url: URL) throws -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError(file: url.path, field: "-", message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path)
    }

    public static func parse(_ data: Data, file: String) throws -> ModelConfig {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw ConfigError(file: file, field: "-", message: "not valid JSON: \(error)")
        }
        guard case .object(let o) = json else {
            throw ConfigError(file: file, field: "-", message: "expected a JSON object")
        }
        return try ModelConfig(object: o, file: file)
    }

    public init(object o: [String: JSONValue], file: String) throws {
        func err(_ f: String, _ m: String) -> ConfigError { ConfigError(file: file, field: f, message: m) }
        func int(_ k: String) throws -> Int? {
            guard let v = o[k], v != .null else { return nil }
            guard let i = v.intValue else { throw err(k, "expected an integer, got \(v)") }
            return i
        }
        func req(_ k: String) throws -> Int {
            guard let i = try int(k) else { throw err(k, "missing") }
            return i
        }
        func num(_ k: String, in obj: [String: JSONValue]? = nil) throws -> Double? {
            guard let v = (obj ?? o)[k], v != .null else { return nil }
            guard let d = v.doubleValue else { throw err(k, "expected a number, got \(v)") }
            return d
        }
        func bool(_ k: String) throws -> Bool? {
            guard let v = o[k], v != .null else { return nil }
            guard case .bool(let b) = v else { throw err(k, "expected true or false, got \(v)") }
            return b
        }
        func str(_ k: String) -> String? { if case .string(let s)? = o[k] { return s } else { return nil } }

        var archName: String? = nil
        if case .array(let a)? = o["architectures"], case .string(let s)? = a.first { archName = s }
        if archName == nil, let mt = str("model_type") {
            archName = Architecture.allCases.first { $0.modelType == mt }?.rawValue
        }
        guard let name = archName else { throw err("architectures", "missing; supported: \(ModelConfig.supported)") }
        guard let arch = Architecture(rawValue: name) else {
            throw err("architectures", "unsupported architecture \(name); supported: \(ModelConfig.supported)")
        }
        architecture = arch
        hiddenSize = try req("hidden_size")
        numLayers = try req("num_hidden_layers")
        numHeads = try req("num_attention_heads")
        vocabSize = try req("vocab_size")
        maxPositionEmbeddings = try int("max_position_embeddings") ?? 2048
        raw = o
        if arch == .opt {
            intermediateSize = try req("ffn_dim")
            numKVHeads = numHeads
            headDim = hiddenSize / numHeads
            normEps = 1e-5
            hiddenAct = str("activation_function") ?? "relu"
            doLayerNormBefore = try bool("do_layer_norm_before") ?? true
            wordEmbedProjDim = try int("word_embed_proj_dim") ?? hiddenSize
            let enableBias = try bool("enable_bias") ?? true
            attentionBias = enableBias; outputBias = enableBias; mlpBias = enableBias
            tieWordEmbeddings = try bool("tie_word_embeddings") ?? true
            ropeTheta = 0; ropeLlama3 = nil
            slidingWindowPerLayer = Array(repeating: nil, count: numLayers)
            if wordEmbedProjDim != hiddenSize {
                throw err("word_embed_proj_dim", "\(wordEmbedProjDim) ≠ hidden_size \(hiddenSize) (project_in/out) is not supported")
            }
            if !doLayerNormBefore {
                throw err("do_layer_norm_before", "post-LayerNorm OPT (350m) is not supported")
            }
        } else {
            intermediateSize = try req("intermediate_size")
            numKVHeads = try int("num_key_value_heads") ?? numHeads
            headDim = try int("head_dim") ?? (hiddenSize / numHeads)
            normEps = Float(try num("rms_norm_eps") ?? 1e-6)
            hiddenAct = str("hidden_act") ?? "silu"
            doLayerNormBefore = true
            wordEmbedProjDim = hiddenSize
            tieWordEmbeddings = try bool("tie_word_embeddings") ?? false
            switch arch {
            case .qwen2:
                attentionBias = true; outputBias = false
            case .qwen3:
                attentionBias = try bool("attention_bias") ?? false; outputBias = attentionBias
            default:
                attentionBias = try bool("attention_bias") ?? false; outputBias = attentionBias
            }
            mlpBias = try bool("mlp_bias") ?? false
            // RoPE: transformers 5 `rope_parameters`, else transformers 4 `rope_theta` + `rope_scaling`.
            var params: [String: JSONValue] = [:]
            if case .object(let rp)? = o["rope_parameters"] { params = rp }
            else if case .object(let rs)? = o["rope_scaling"] { params = rs }
            ropeTheta = try num("rope_theta", in: params) ?? num("rope_theta") ?? 10000
            var ropeType = "default"
            if case .string(let t)? = params["rope_type"] { ropeType = t }
            else if case .string(let t)? = params["type"] { ropeType = t }
            switch ropeType {
            case "default":
                ropeLlama3 = nil
            case "llama3":
                guard let f = try num("factor", in: params), let lo = try num("low_freq_factor", in: params),
                      let hi = try num("high_freq_factor", in: params),
                      let om = try num("original_max_position_embeddings", in: params) else {
                    throw err("rope_scaling", "llama3 scaling needs factor, low_freq_factor, high_freq_factor, original_max_position_embeddings")
                }
                ropeLlama3 = RoPEScaling(factor: f, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositionEmbeddings: om)
            default:
                throw err("rope_scaling", "rope_type `\(ropeType)` is not supported (default, llama3)")
            }
            // Sliding window: Mistral applies it to every layer; Qwen2/3 only with
            // use_sliding_window, to layers at or past max_window_layers, or as layer_types says.
            let window = try int("sliding_window")
            var perLayer = [Int?](repeating: nil, count: numLayers)
            if let w = window {
                switch arch {
                case .mistral:
                    perLayer = Array(repeating: w, count: numLayers)
                case .qwen2, .qwen3:
                    if try bool("use_sliding_window") ?? false {
                        if case .array(let types)? = o["layer_types"] {
                            guard types.count == numLayers else { throw err("layer_types", "has \(types.count) entries for \(numLayers) layers") }
                            perLayer = types.map { $0 == .string("sliding_attention") ? w : nil }
                        } else {
                            let mwl = try int("max_window_layers") ?? numLayers
                            perLayer = (0..<numLayers).map { $0 >= mwl ? w : nil }
                        }
                    }
                default: break
                }
            }
            slidingWindowPerLayer = perLayer
        }
        bosTokenId = try int("bos_token_id")
        if case .array(let a)? = o["eos_token_id"] { eosTokenIds = a.compactMap(\.intValue) }
        else { eosTokenIds = (try int("eos_token_id")).map { [$0] } ?? [] }
        padTokenId = try int("pad_token_id")
        dtype = str("dtype") ?? str("torch_dtype") ?? "float32"
        guard numHeads > 0, numKVHeads > 0, numHeads % numKVHeads == 0 else {
            throw err("num_key_value_heads", "\(numKVHeads) does not divide num_attention_heads \(numHeads)")
        }
        if !["silu", "relu", "gelu", "gelu_new", "gelu_pytorch_tanh"].contains(hiddenAct) {
            throw err(arch == .opt ? "activation_function" : "hidden_act", "activation `\(hiddenAct)` is not supported")
        }
    }

    /// The config to write beside saved weights: the original fields with the layer count
    /// (and anything the caller changes) updated.
    public func jsonObject(extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var o = raw
        o["num_hidden_layers"] = .int(numLayers)
        if architecture == .opt { o["ffn_dim"] = .int(intermediateSize) } else { o["intermediate_size"] = .int(intermediateSize) }
        o["dtype"] = .string("float32")
        if o["architectures"] == nil { o["architectures"] = .array([.string(architecture.rawValue)]) }
        if o["model_type"] == nil { o["model_type"] = .string(architecture.modelType) }
        if case .array(let types)? = o["layer_types"], types.count != numLayers {
            o["layer_types"] = .array((0..<numLayers).map { slidingWindowPerLayer[$0] == nil ? .string("full_attention") : .string("sliding_attention") })
        }
        for (k, v) in extra { o[k] = v }
        return o
    }
}
