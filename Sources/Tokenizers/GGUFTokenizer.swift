// Building a tokenizer from the tokenizer.ggml.* metadata of a GGUF file (read elsewhere):
// "gpt2" models are byte-level BPE with the pre-tokenizer regex chosen from tokenizer.ggml.pre
// as llama.cpp's llama-vocab.cpp does; "llama" models are SentencePiece BPE, rebuilt as the
// Llama-2 tokenizer.json pipeline with merges derived from the scores as transformers does.
import Foundation

extension Tokenizer {
    /// llama.cpp's token types (tokenizer.ggml.token_type).
    enum GGUFTokenType: Int {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public static func fromGGUF(model: String, pre: String?, tokens: [String], scores: [Float]?, tokenTypes: [Int]?,
                                merges: [String]?, bosId: Int?, eosId: Int?, unkId: Int?, padId: Int?,
                                addBOS: Bool?, addEOS: Bool?, addSpacePrefix: Bool? = nil) throws -> Tokenizer {
        let source = "GGUF tokenizer metadata"
        func fail(_ field: String, _ message: String) -> TokenizerError {
            TokenizerError(file: source, field: field, message: message)
        }
        guard !tokens.isEmpty else { throw fail("tokenizer.ggml.tokens", "no tokens") }
        if let scores, scores.count != tokens.count {
            throw fail("tokenizer.ggml.scores", "\(scores.count) scores for \(tokens.count) tokens")
        }
        if let tokenTypes, tokenTypes.count != tokens.count {
            throw fail("tokenizer.ggml.token_type", "\(tokenTypes.count) token types for \(tokens.count) tokens")
        }
        for (name, id) in [("bos", bosId), ("eos", eosId), ("unknown", unkId), ("padding", padId)] {
            if let id, id < 0 || id >= tokens.count {
                throw fail("tokenizer.ggml.\(name)_token_id", "id \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
        }
        let types = tokenTypes ?? Array(repeating: GGUFTokenType.normal.rawValue, count: tokens.count)
        // Control (and unknown) tokens are special; user-defined ones are added tokens that
        // decoding keeps. Both are matched in the raw text, as llama.cpp's parse_special does.
        var added: [AddedToken] = []
        for (id, t) in types.enumerated() {
            switch GGUFTokenType(rawValue: t) {
            case .control, .unknown: added.append(AddedToken(id: id, content: tokens[id], normalized: false, special: true))
            case .userDefined: added.append(AddedToken(id: id, content: tokens[id], normalized: false, special: false))
            default: break
            }
        }
        let vocab = tokens.enumerated().map { ($0.element, $0.offset) }
        func post(_ defaultBOS: Bool) -> PostProcessor {
            var p = PostProcessor()
            if addBOS ?? defaultBOS, let bosId { p.prefix = [bosId] }
            if addEOS ?? false, let eosId { p.suffix = [eosId] }
            return p
        }

        switch model {
        case "gpt2":
            guard let merges else { throw fail("tokenizer.ggml.merges", "missing (a gpt2 tokenizer needs its merges)") }
            var pairs: [(String, String)] = []
            pairs.reserveCapacity(merges.count)
            for (k, m) in merges.enumerated() {
                guard let space = m.utf8.firstIndex(of: 0x20) else {
                    throw fail("tokenizer.ggml.merges[\(k)]", "merge \"\(m)\" is not two tokens separated by a space")
                }
                pairs.append((String(m[..<space]), String(m[m.utf8.index(after: space)...])))
            }
            var options = BPE.Options()
            // llama.cpp emits a Llama-3 pre-token that is itself a token whole, before merging
            // (as tokenizer.json's ignore_merges does for Llama-3).
            options.ignoreMerges = SplitPattern.isLlama3(pre)
            let bpe: BPE
            do { bpe = try BPE(vocab: vocab, merges: pairs, options: options) } catch let e as BPE.InvalidMerge {
                throw fail("tokenizer.ggml.merges[\(e.index)]", e.message)
            }
            let (preTokenizer, normalizer) = gpt2PreTokenizer(pre)
            return Tokenizer(model: bpe, normalizer: normalizer, preTokenizer: preTokenizer, decoder: .byteLevel,
                             postProcessor: post(false), addedTokens: added, bosId: bosId, eosId: eosId, padId: padId)

        case "llama":
            guard let scores else { throw fail("tokenizer.ggml.scores", "missing (a llama tokenizer needs its scores)") }
            var options = BPE.Options()
            options.fuseUnk = true
            options.byteFallback = true
            if let unk = unkId ?? types.firstIndex(of: GGUFTokenType.unknown.rawValue) { options.unkToken = tokens[unk] }
            let isNormal = types.map { $0 == GGUFTokenType.normal.rawValue }
            let bpe: BPE
            do {
                bpe = try BPE(vocab: vocab, merges: sentencePieceMerges(tokens, scores, isNormal), options: options)
            } catch let e as BPE.InvalidMerge {
                throw fail(e.index >= 0 ? "tokenizer.ggml.scores" : "tokenizer.ggml.unknown_token_id", e.message)
            }
            let prefix = addSpacePrefix ?? true
            let space: Normalizer = .replace(.string(" "), content: "\u{2581}")
            let normalizer: Normalizer = prefix ? .sequence([.prepend("\u{2581}"), space]) : space
            var steps: [Decoder] = [.replace(.string("\u{2581}"), content: " "), .byteFallback, .fuse]
            if prefix { steps.append(.strip(content: " ", start: 1, stop: 0)) }
            return Tokenizer(model: bpe, normalizer: normalizer, preTokenizer: nil, decoder: .sequence(steps),
                             postProcessor: post(true), addedTokens: added, bosId: bosId, eosId: eosId, padId: padId)

        default:
            throw fail("tokenizer.ggml.model", "unsupported tokenizer model \"\(model)\" (gpt2 and llama are implemented)")
        }
    }

    /// The pre-tokenizer for tokenizer.ggml.pre. "smollm" gets plain GPT-2 splitting, as in
    /// the tokenizer.json transformers builds from the SmolLM2 GGUF; llama.cpp also isolates
    /// every digit for it, which differs only where two or more spaces precede a digit.
    static func gpt2PreTokenizer(_ pre: String?) -> (PreTokenizer, Normalizer?) {
        func split(_ p: SplitPattern) -> PreTokenizer {
            .sequence([.split(p, behavior: .isolated, invert: false), .byteLevel(addPrefixSpace: false, useRegex: false)])
        }
        if SplitPattern.isLlama3(pre) { return (split(.llama3), nil) }
        switch pre {
        // Qwen2's own tokenizer.json normalises to NFC first.
        case "qwen2", "deepseek-r1-qwen": return (split(.qwen2), .nfc)
        default: return (.byteLevel(addPrefixSpace: false, useRegex: true), nil)
        }
    }

    /// Merges of a SentencePiece BPE vocabulary, as transformers' generate_merges makes them:
    /// every split of a normal piece into two normal pieces, ordered by the piece's score
    /// (highest first), ties by longer left then longer right part, then by piece id and the
    /// ids of the parts; applying them by rank replays SentencePiece's highest-score merging.
    static func sentencePieceMerges(_ tokens: [String], _ scores: [Float], _ isNormal: [Bool]) -> [(String, String)] {
        var normalIds: [ExactString: Int] = [:]
        for (id, t) in tokens.enumerated() where isNormal[id] { normalIds[ExactString(t)] = id }
        struct Candidate { let score: Float; let leftLength: Int; let rightLength: Int; let piece: Int; let left: Int; let right: Int }
        var candidates: [Candidate] = []
        for (id, t) in tokens.enumerated() where isNormal[id] {
            let scalars = Array(t.unicodeScalars)
            guard scalars.count > 1 else { continue }
            for cut in 1..<scalars.count {
                var l = String.UnicodeScalarView(), r = String.UnicodeScalarView()
                l.append(contentsOf: scalars[..<cut])
                r.append(contentsOf: scalars[cut...])
                if let li = normalIds[ExactString(String(l))], let ri = normalIds[ExactString(String(r))] {
                    candidates.append(Candidate(score: scores[id], leftLength: cut, rightLength: scalars.count - cut,
                                                piece: id, left: li, right: ri))
                }
            }
        }
        candidates.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            if $0.leftLength != $1.leftLength { return $0.leftLength > $1.leftLength }
            if $0.rightLength != $1.rightLength { return $0.rightLength > $1.rightLength }
            if $0.piece != $1.piece { return $0.piece < $1.piece }
            if $0.left != $1.left { return $0.left < $1.left }
            return $0.right < $1.right
        }
        return candidates.map { (tokens[$0.left], tokens[$0.right]) }
    }
}

extension SplitPattern {
    /// tokenizer.ggml.pre values llama.cpp gives the Llama-3 regex.
    static func isLlama3(_ pre: String?) -> Bool { pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" }
}
