// Reading HF tokenizer.json (the format the tokenizers library serialises, version "1.0")
// and the bos/eos/pad entries of tokenizer_config.json beside it. Every wrong, missing or
// unsupported field is reported with the file and its JSON path.
import Foundation

extension Tokenizer {
    /// Loads `tokenizer.json` (or the `tokenizer.json` inside a folder).
    public static func load(_ url: URL) throws -> Tokenizer {
        var file = url
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = url.appendingPathComponent("tokenizer.json")
        }
        let root = try readJSON(file)
        let tokenizer = try TokenizerFile(root: root).build()
        let configURL = file.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else { return tokenizer }
        let config = try readJSON(configURL)
        return try tokenizer.withSpecialTokens(from: config)
    }

    static func readJSON(_ file: URL) throws -> JSONField {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw TokenizerError(file: file.path, field: "", message: "no such file")
        }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw TokenizerError(file: file.path, field: "", message: "cannot read: \(error.localizedDescription)")
        }
        do {
            return JSONField(value: try JSON.parse(data), path: "", file: file.path)
        } catch let e as JSON.SyntaxError {
            throw TokenizerError(file: file.path, field: "", message: e.description)
        }
    }

    /// bos_token / eos_token / pad_token of tokenizer_config.json, each a string, an
    /// AddedToken object with "content", or null; an absent key keeps the current value, a
    /// token the vocabulary lacks gives nil.
    func withSpecialTokens(from config: JSONField) throws -> Tokenizer {
        func resolve(_ key: String, _ current: Int?) throws -> Int? {
            guard config.has(key) else { return current }
            guard let field = try config.optional(key) else { return nil }
            let content: String
            switch field.value {
            case .string(let s): content = s
            case .object: content = try field.string("content")
            default: throw field.error("expected a token string or an object with \"content\", found \(field.value.typeName)")
            }
            // transformers would add a missing token to the vocabulary; without an id for it
            // there is none to report, and the tokenizer itself is still usable.
            return id(content)
        }
        _ = try config.members()
        return Tokenizer(model: model, normalizer: normalizer, preTokenizer: preTokenizer, decoder: decoder,
                         postProcessor: postProcessor, addedTokens: addedTokens,
                         bosId: try resolve("bos_token", bosId), eosId: try resolve("eos_token", eosId),
                         padId: try resolve("pad_token", padId))
    }
}

/// The components of one tokenizer.json, parsed field by field.
struct TokenizerFile {
    let root: JSONField

    func build() throws -> Tokenizer {
        let added = try addedTokens()
        let model = try bpe(try root.required("model"))
        let normalizer = try root.optional("normalizer").map(normalizer)
        let preTokenizer = try root.optional("pre_tokenizer").map(preTokenizer)
        let decoder = try root.optional("decoder").map(decoder)
        let post = try root.optional("post_processor").map(postProcessor) ?? .none
        // Without a tokenizer_config.json, the template's own special tokens are the best
        // guess at BOS and EOS.
        return Tokenizer(model: model, normalizer: normalizer, preTokenizer: preTokenizer, decoder: decoder,
                         postProcessor: post, addedTokens: added,
                         bosId: post.prefix.first, eosId: post.suffix.last, padId: nil)
    }

    func addedTokens() throws -> [AddedToken] {
        guard let list = try root.optional("added_tokens") else { return [] }
        return try list.array().map { t in
            let special = try t.bool("special", default: false)
            return AddedToken(id: try t.required("id").int(), content: try t.string("content"),
                              singleWord: try t.bool("single_word", default: false),
                              lstrip: try t.bool("lstrip", default: false), rstrip: try t.bool("rstrip", default: false),
                              normalized: try t.bool("normalized", default: !special), special: special)
        }
    }

    func bpe(_ m: JSONField) throws -> BPE {
        let type = try m.optionalString("type")
        guard type == "BPE" || (type == nil && m.has("merges")) else {
            throw (try m.optional("type") ?? m).error(type.map { "unsupported model type \"\($0)\" (only BPE is implemented)" }
                                                      ?? "missing model type")
        }
        let vocabField = try m.required("vocab")
        guard case .object(let members) = vocabField.value else {
            throw vocabField.error("expected an object of token: id, found \(vocabField.value.typeName)")
        }
        // Read straight from the JSON pairs: a JSONField per entry would cost a path string
        // each for 49k entries.
        var vocab: [(String, Int)] = []
        vocab.reserveCapacity(members.count)
        for (token, value) in members {
            switch value {
            case .int(let id) where id >= 0: vocab.append((token, id))
            default:
                throw TokenizerError(file: root.file, field: "\(vocabField.path).\(token)", message: "expected a non-negative integer id")
            }
        }
        var merges: [(String, String)] = []
        if let mergesField = try m.optional("merges") {
            guard case .array(let items) = mergesField.value else {
                throw mergesField.error("expected an array, found \(mergesField.value.typeName)")
            }
            merges.reserveCapacity(items.count)
            for (k, item) in items.enumerated() {
                // Two spellings: "a b" (tokenizers < 0.20) and ["a", "b"].
                switch item {
                case .string(let s):
                    guard let space = s.utf8.firstIndex(of: 0x20) else {
                        throw TokenizerError(file: root.file, field: "\(mergesField.path)[\(k)]", message: "merge \"\(s)\" is not two tokens separated by a space")
                    }
                    merges.append((String(s[..<space]), String(s[s.utf8.index(after: space)...])))
                case .array(let pair):
                    guard pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                        throw TokenizerError(file: root.file, field: "\(mergesField.path)[\(k)]", message: "expected a pair of token strings")
                    }
                    merges.append((a, b))
                default:
                    throw TokenizerError(file: root.file, field: "\(mergesField.path)[\(k)]", message: "expected a merge, found \(item.typeName)")
                }
            }
        }
        var options = BPE.Options()
        options.unkToken = try m.optionalString("unk_token")
        options.fuseUnk = try m.bool("fuse_unk", default: false)
        options.byteFallback = try m.bool("byte_fallback", default: false)
        options.ignoreMerges = try m.bool("ignore_merges", default: false)
        options.continuingSubwordPrefix = try m.optionalString("continuing_subword_prefix")
        options.endOfWordSuffix = try m.optionalString("end_of_word_suffix")
        do {
            return try BPE(vocab: vocab, merges: merges, options: options)
        } catch let e as BPE.InvalidMerge {
            let field = e.index >= 0 ? "\(m.path).merges[\(e.index)]" : "\(m.path).unk_token"
            throw TokenizerError(file: root.file, field: field, message: e.message)
        }
    }

    private func type(_ f: JSONField) throws -> (String, JSONField) {
        let t = try f.required("type")
        return (try t.string(), t)
    }

    /// {"String": "…"} or {"Regex": "…"}, the library's pattern spelling.
    private func pattern(_ f: JSONField) throws -> (isRegex: Bool, source: String) {
        if let s = try f.optional("String") { return (false, try s.string()) }
        if let r = try f.optional("Regex") { return (true, try r.string()) }
        throw f.error("expected {\"String\": …} or {\"Regex\": …}")
    }

    private func compile(_ source: String, _ f: JSONField) throws -> NSRegularExpression {
        do { return try SplitPattern.compileOniguruma(source) } catch {
            throw f.error("cannot compile regex \"\(source)\" with NSRegularExpression")
        }
    }

    func normalizer(_ f: JSONField) throws -> Normalizer {
        let (name, typeField) = try type(f)
        switch name {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(try f.string("prepend"))
        case "Append": return .append(try f.string("append"))
        case "Strip": return .strip(left: try f.bool("strip_left", default: true), right: try f.bool("strip_right", default: true))
        case "Replace":
            let p = try f.required("pattern")
            let (isRegex, source) = try pattern(p)
            return .replace(isRegex ? .regex(try compile(source, p)) : .string(source), content: try f.string("content"))
        case "Sequence":
            return .sequence(try f.required("normalizers").array().map(normalizer))
        default:
            throw typeField.error("unsupported normalizer \"\(name)\"")
        }
    }

    func preTokenizer(_ f: JSONField) throws -> PreTokenizer {
        let (name, typeField) = try type(f)
        switch name {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try f.bool("add_prefix_space", default: true),
                              useRegex: try f.bool("use_regex", default: true))
        case "Split":
            let p = try f.required("pattern")
            let (isRegex, source) = try pattern(p)
            let behaviorField = try f.required("behavior")
            guard let behavior = PreTokenizer.SplitBehavior(rawValue: try behaviorField.string()) else {
                throw behaviorField.error("unknown split behavior \"\(try behaviorField.string())\"")
            }
            let splitPattern: SplitPattern
            if isRegex {
                do { splitPattern = try SplitPattern.regex(source) } catch {
                    throw p.error("cannot compile regex \"\(source)\" with NSRegularExpression")
                }
            } else {
                splitPattern = .literal(source)
            }
            return .split(splitPattern, behavior: behavior, invert: try f.bool("invert", default: false))
        case "Metaspace":
            return .metaspace(replacement: try f.optionalString("replacement") ?? "\u{2581}",
                              prependScheme: try prependScheme(f), split: try f.bool("split", default: true))
        case "Digits":
            return .digits(individual: try f.bool("individual_digits", default: false))
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Sequence":
            return .sequence(try f.required("pretokenizers").array().map(preTokenizer))
        default:
            throw typeField.error("unsupported pre-tokenizer \"\(name)\"")
        }
    }

    /// prepend_scheme, or the older add_prefix_space flag it replaced.
    private func prependScheme(_ f: JSONField) throws -> PreTokenizer.PrependScheme {
        if let s = try f.optional("prepend_scheme") {
            guard let scheme = PreTokenizer.PrependScheme(rawValue: try s.string()) else {
                throw s.error("unknown prepend_scheme \"\(try s.string())\"")
            }
            return scheme
        }
        return try f.bool("add_prefix_space", default: true) ? .always : .never
    }

    func decoder(_ f: JSONField) throws -> Decoder {
        let (name, typeField) = try type(f)
        switch name {
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Replace":
            let p = try f.required("pattern")
            let (isRegex, source) = try pattern(p)
            return .replace(isRegex ? .regex(try compile(source, p)) : .string(source), content: try f.string("content"))
        case "Strip":
            let c = try f.required("content")
            let scalars = Array(try c.string().unicodeScalars)
            guard scalars.count == 1 else { throw c.error("expected a single character") }
            return .strip(content: scalars[0], start: try f.int("start", default: 0), stop: try f.int("stop", default: 0))
        case "Metaspace":
            let r = try f.optionalString("replacement") ?? "\u{2581}"
            guard r.unicodeScalars.count == 1 else { throw f.error("replacement must be a single character") }
            return .metaspace(replacement: r.unicodeScalars.first!, prependScheme: try prependScheme(f))
        case "Sequence":
            return .sequence(try f.required("decoders").array().map(decoder))
        default:
            throw typeField.error("unsupported decoder \"\(name)\"")
        }
    }

    func postProcessor(_ f: JSONField) throws -> PostProcessor {
        let (name, typeField) = try type(f)
        switch name {
        case "ByteLevel": return .none
        case "TemplateProcessing": return try template(f)
        case "RobertaProcessing", "BertProcessing":
            // "cls": ["<s>", 0], "sep": ["</s>", 2]
            func tokenId(_ key: String) throws -> Int {
                let pair = try f.required(key).array()
                guard pair.count == 2 else { throw try f.required(key).error("expected [token, id]") }
                return try pair[1].int()
            }
            return PostProcessor(prefix: [try tokenId("cls")], suffix: [try tokenId("sep")])
        case "Sequence":
            var result = PostProcessor.none
            for p in try f.required("processors").array() { result = result.then(try postProcessor(p)) }
            return result
        default:
            throw typeField.error("unsupported post-processor \"\(name)\"")
        }
    }

    /// The `single` template: special tokens before $A form the prefix, after it the suffix.
    private func template(_ f: JSONField) throws -> PostProcessor {
        var specials: [String: [Int]] = [:]
        if let map = try f.optional("special_tokens") {
            for (name, entry) in try map.members() {
                specials[name] = try entry.required("ids").array().map { try $0.int() }
            }
        }
        var result = PostProcessor()
        var seenSequence = false
        for item in try f.required("single").array() {
            var specialName: String? = nil
            switch item.value {
            case .object:
                if let s = try item.optional("SpecialToken") { specialName = try s.string("id") }
                else if try item.optional("Sequence") != nil { seenSequence = true; continue }
                else { throw item.error("expected {\"SpecialToken\": …} or {\"Sequence\": …}") }
            case .string(let s):
                // The string form of templates: "$A", "$A:0", "$0", "<s>", "<s>:1".
                let name = s.split(separator: ":", maxSplits: 1).first.map(String.init) ?? s
                if name.hasPrefix("$") { seenSequence = true; continue }
                specialName = name
            default:
                throw item.error("expected a template piece, found \(item.value.typeName)")
            }
            guard let name = specialName, let ids = specials[name] else {
                throw item.error("special token \"\(specialName ?? "")\" is not in special_tokens")
            }
            if seenSequence { result.suffix += ids } else { result.prefix += ids }
        }
        return result
    }
}
