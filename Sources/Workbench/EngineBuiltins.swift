// The engine primitives as builtins of the language: load, info, tokenize, detokenize,
// generate, corpus, perplexity, save. Each reports progress, checks for Ctrl-C between
// layers / windows / tokens, and records fingerprints and scalar results for the log.
import Checkpoints
import Corpora
import Evaluation
import Foundation
import Script
import Tensors
import Tokenizers
import Transformer

private func fail(_ message: String, _ argument: String? = nil, hint: String? = nil) -> ScriptError {
    ScriptError(message, id: "E0601", hint: hint, argument: argument)
}

/// Runs engine code, turning its errors into script errors at the given argument.
func engine<T>(_ argument: String? = nil, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ScriptError { throw e } catch let e as Interrupted { throw e } catch is ForwardCancelled {
        throw Interrupted()
    } catch {
        throw fail("\(error)", argument)
    }
}

func modelArg(_ a: BoundArguments, _ name: String = "m") throws -> ModelObject { try a.host(name, as: ModelObject.self) }

func tokenizerOf(_ m: ModelObject) throws -> Tokenizer {
    guard let t = m.model.tokenizer else { throw fail("the model from \(m.model.source) has no tokenizer", "m") }
    return t
}

public func engineBuiltins() -> [BuiltinSpec] {
    let modelType = ValueType.host("model"), corpusType = ValueType.host("corpus")
    let modelCompleter = Completer.variables(ofType: "model")
    return [
        BuiltinSpec("load", [ParamSpec("path", .string, default: .string("default"),
                                       completer: .files(extensions: ["gguf", "json", "safetensors"]),
                                       help: "a .gguf file, an HF checkpoint folder, or \"default\" (SmolLM2-135M)")],
                    returns: modelType, effects: [.readsFiles], category: "engine",
                    help: "Loads a model: weights (dequantised to fp32), config and tokenizer. Nothing is downloaded;\na hub name is refused with directions.") { a, ctx in
            let path = try a.string("path")
            ctx.progress(nil, "loading \(path)")
            let m = try engine("path") { try Model.load(path == "default" ? path : ctx.resolvePath(path)) }
            let obj = ModelObject(m)
            ctx.recordWritten(obj)
            ctx.recordResult("layers", .int(m.numLayers))
            ctx.recordResult("parameters", .int(m.parameterCount))
            return .host(obj)
        },
        BuiltinSpec("info", [ParamSpec("m", modelType, completer: modelCompleter)], returns: .record, category: "engine",
                    help: "The model's facts as a record (architecture, layers, heads, sizes, parameters).") { a, ctx in
            let m = try modelArg(a)
            ctx.recordRead(m)
            return .record(Record(m.fieldNames.compactMap { f in m.field(f).map { (f, $0) } }))
        },
        BuiltinSpec("tokenize", [ParamSpec("m", modelType, completer: modelCompleter), ParamSpec("text", .string),
                                 ParamSpec("special", .bool, default: .bool(true), help: "add the tokenizer's BOS/EOS template")],
                    returns: .list, category: "engine", logged: false,
                    help: "The token ids of the text under the model's tokenizer.") { a, _ in
            let t = try tokenizerOf(try modelArg(a))
            return .list(t.encode(try a.string("text"), addSpecialTokens: try a.bool("special")).map { .int($0) })
        },
        BuiltinSpec("detokenize", [ParamSpec("m", modelType, completer: modelCompleter), ParamSpec("ids", .listOf(.int)),
                                   ParamSpec("skip_special", .bool, default: .bool(false))],
                    returns: .string, category: "engine", logged: false,
                    help: "The text of token ids.") { a, _ in
            let t = try tokenizerOf(try modelArg(a))
            let ids = try a.list("ids").map { v -> Int in if case .int(let i) = v { return i }; throw fail("ids must be integers", "ids") }
            return .string(t.decode(ids, skipSpecialTokens: try a.bool("skip_special")))
        },
        BuiltinSpec("generate", [ParamSpec("m", modelType, completer: modelCompleter), ParamSpec("prompt", .string),
                                 ParamSpec("max_tokens", .int, default: .int(32)),
                                 ParamSpec("temperature", .number, default: .float(0), help: "0 = greedy"),
                                 ParamSpec("top_k", .int, default: .int(0)), ParamSpec("top_p", .number, default: .float(1)),
                                 ParamSpec("seed", .optional(.int), default: .none, help: "none = a fresh seed, logged for replay")],
                    returns: .string, category: "engine",
                    help: "Continues the prompt with the KV cache, stopping at EOS or max_tokens; returns the new text.") { a, ctx in
            let m = try modelArg(a)
            let tok = try tokenizerOf(m)
            var seed = UInt64(try a.optionalInt("seed") ?? 0)
            if a.isNone("seed") {
                if case .int(let logged)? = ReplayOverrides.take("generate", "seed") { seed = UInt64(logged) }
                else { seed = UInt64.random(in: 0..<(1 << 31)) }
                ctx.recordResolved("seed", .int(Int(seed)))
            }
            let opts = SamplingOptions(maxNewTokens: try a.int("max_tokens"), temperature: Float(try a.double("temperature")),
                                       topK: try a.int("top_k"), topP: Float(try a.double("top_p")), seed: seed)
            ctx.recordRead(m)
            let ids = tok.encode(try a.string("prompt"))
            var cancelled = false
            let out = try engine { try m.model.generate(prompt: ids, options: opts) { _ in
                if ctx.isCancelled { cancelled = true; return false }
                return true
            } }
            if cancelled { throw Interrupted() }
            ctx.recordResult("token_ids", .list(out.map { .int($0) }))
            return .string(tok.decode(out, skipSpecialTokens: true))
        },
        BuiltinSpec("corpus", [ParamSpec("name", .string, completer: .choices(["wiki2", "c4"]),
                                         help: "wiki2, c4, or a path to a .raw / .txt / .jsonl(.gz) file"),
                               ParamSpec("split", .string, default: .string("test"), completer: .choices(["test", "valid", "train"])),
                               ParamSpec("data_dir", .optional(.string), default: .none, help: "folder holding wikitext-2-raw-v1/ and c4/")],
                    returns: corpusType, effects: [.readsFiles], category: "engine",
                    help: "A text data set, joined as the perplexity protocol says (WikiText rows with \"\\n\\n\";\nC4 documents with a space).") { a, ctx in
            let name = try a.string("name"), split = try a.string("split")
            let dir = try a.optionalString("data_dir").map { URL(fileURLWithPath: ctx.resolvePath($0)) }
            let obj: CorpusObject = try engine("name") {
                let data = PerplexityData.named(name == "wiki2" || name == "wikitext2" || name == "c4" ? name : ctx.resolvePath(name), split: split)
                let t = try data.text(dataDir: dir)
                let shown: String
                switch data {
                case .wiki2: shown = "wiki2"
                case .c4: shown = "c4"
                case .file(let u): shown = u.lastPathComponent
                }
                return CorpusObject(name: shown, source: t.source, text: t.text, windowCap: t.windowCap)
            }
            ctx.recordWritten(obj)
            return .host(obj)
        },
        BuiltinSpec("perplexity", [ParamSpec("m", modelType, completer: modelCompleter),
                                   ParamSpec("data", corpusType, completer: .variables(ofType: "corpus")),
                                   ParamSpec("seqlen", .int, default: .int(2048)),
                                   ParamSpec("limit", .optional(.int), default: .none, help: "at most this many windows"),
                                   ParamSpec("batch", .int, default: .int(1))],
                    returns: .float, category: "engine",
                    help: "Perplexity over non-overlapping windows of seqlen tokens (tail dropped): exp of the mean\nover windows of each window's mean next-token NLL.") { a, ctx in
            let m = try modelArg(a)
            let c = try a.host("data", as: CorpusObject.self)
            let seqlen = try a.int("seqlen")
            var ids = c.tokens(try tokenizerOf(m))
            if let cap = c.windowCap { ids = Array(ids.prefix(cap * seqlen)) }
            let windows = try engine("seqlen") { try Perplexity.windows(ids, seqlen: seqlen, limit: try a.optionalInt("limit")) }
            ctx.recordRead(m)
            ctx.recordRead(Fingerprint.tokens(windows))
            let flag = ctx
            let r = try engine {
                try Perplexity.evaluate(m.model, windows: windows, batch: try a.int("batch"), progress: { done, total in
                    ctx.progress(Double(done) / Double(total), "\(done)/\(total) windows")
                }, shouldCancel: { [unowned flag] in flag.isCancelled })
            }
            ctx.recordResult("windows", .int(windows.count))
            ctx.recordResult("mean_nll", .float(r.meanLoss))
            return .float(r.perplexity)
        },
        BuiltinSpec("save", [ParamSpec("m", modelType, completer: modelCompleter),
                             ParamSpec("path", .string, completer: .files()),
                             ParamSpec("dtype", .string, default: .string("float32"), completer: .choices(["float32", "bfloat16", "float16"]))],
                    returns: .string, effects: [.writesFiles], category: "engine",
                    help: "Saves the model as an HF checkpoint folder (model.safetensors, config.json with the\nmerge tree, tokenizer files); written to a temporary folder, then renamed.") { a, ctx in
            let m = try modelArg(a)
            let path = ctx.resolvePath(try a.string("path"))
            let dtype: StorageDType
            switch try a.string("dtype") {
            case "float32": dtype = .f32
            case "bfloat16": dtype = .bf16
            case "float16": dtype = .f16
            default: throw fail("dtype must be float32, bfloat16 or float16", "dtype")
            }
            try engine("path") { try ModelSaver.save(m.model, to: URL(fileURLWithPath: path), dtype: dtype) }
            ctx.recordRead(m)
            return .string(path)
        },
    ]
}
