// A text tokenizer with the encode/decode behaviour of HF tokenizers' Tokenizer for the BPE
// checkpoints come handles: byte-level BPE (GPT-2, SmolLM2, Llama-3, Qwen2) and SentencePiece
// BPE in its tokenizer.json form (Llama-2). The pipeline is the library's: added tokens,
// normaliser, pre-tokenizer, model, post-processor; decode runs the decoder over token strings.
import Foundation

public final class Tokenizer: @unchecked Sendable {
    let model: BPE
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let decoder: Decoder?
    let postProcessor: PostProcessor
    let addedTokens: [AddedToken]
    /// What decode and token(_:) show for an added token: its content, normalised when the
    /// token is matched in normalised text (the library's id_to_token does the same).
    private let addedStrings: [Int: String]
    private let addedByContent: [ExactString: Int]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher

    public let bosId: Int?
    public let eosId: Int?
    public let padId: Int?
    /// Ids of the added tokens marked `special` (dropped by skipSpecialTokens decoding).
    public let specialIds: Set<Int>
    /// Max id + 1 over the model vocabulary and the added tokens.
    public let vocabSize: Int

    init(model: BPE, normalizer: Normalizer?, preTokenizer: PreTokenizer?, decoder: Decoder?,
         postProcessor: PostProcessor, addedTokens: [AddedToken], bosId: Int?, eosId: Int?, padId: Int?) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.decoder = decoder
        self.postProcessor = postProcessor
        self.addedTokens = addedTokens
        var strings: [Int: String] = [:], byContent: [ExactString: Int] = [:]
        for t in addedTokens {
            strings[t.id] = t.normalized ? normalizer?.normalize(t.content) ?? t.content : t.content
            byContent[ExactString(t.content)] = t.id
        }
        addedStrings = strings
        addedByContent = byContent
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        // Normalised tokens are searched for in normalised text, so in normalised form.
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter { $0.normalized }) { normalizer?.normalize($0.content) ?? $0.content }
        specialIds = Set(addedTokens.filter { $0.special }.map { $0.id })
        vocabSize = max(model.tokens.count, (addedTokens.map { $0.id }.max() ?? -1) + 1)
        self.bosId = bosId
        self.eosId = eosId
        self.padId = padId
    }

    /// The ids of `text`; with addSpecialTokens the post-processor's tokens (a BOS, say) are
    /// added. Added tokens written in the text are recognised either way.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        // Metaspace's "first" prepend scheme applies only to text at offset 0 of the input.
        var first = true
        rawMatcher.split(text) { segment in
            switch segment {
            case .token(let id):
                ids.append(id)
                first = false
            case .text(let raw):
                let text = normalizer?.normalize(raw) ?? raw
                normalizedMatcher.split(text) { inner in
                    switch inner {
                    case .token(let id): ids.append(id)
                    case .text(let t): encodeWords(t, atStart: first, into: &ids)
                    }
                    first = false
                }
                first = false
            }
        }
        return addSpecialTokens ? postProcessor.apply(ids) : ids
    }

    private func encodeWords(_ text: String, atStart: Bool, into ids: inout [Int]) {
        guard let pre = preTokenizer else { model.tokenize(text, into: &ids); return }
        pre.preTokenize(text, atStart: atStart) { word, _ in model.tokenize(word, into: &ids) }
    }

    /// The text of `ids` (unknown ids are skipped, as the library does).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && specialIds.contains(id) { continue }
            if let t = token(id) { tokens.append(t) }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// The token string of an id: an added token's content (normalised if it is matched in
    /// normalised text), else the vocabulary entry.
    public func token(_ id: Int) -> String? {
        if let t = addedStrings[id] { return t }
        guard id >= 0, id < model.tokens.count else { return nil }
        return model.tokens[id]
    }

    /// The id of a token string (compared byte for byte).
    public func id(_ token: String) -> Int? {
        let key = ExactString(token)
        return addedByContent[key] ?? model.vocab[key]
    }

    /// Whether encode(addSpecialTokens: true) prepends the BOS token.
    public var addsBOS: Bool { bosId != nil && postProcessor.prefix.first == bosId }

    var kind: String {
        if preTokenizer?.containsByteLevel == true || decoder?.containsByteLevel == true { return "byte-level BPE" }
        if model.options.byteFallback || preTokenizer?.containsMetaspace == true { return "SentencePiece BPE" }
        return "BPE"
    }

    /// One line: the kind, the vocabulary size and the special tokens.
    public var summary: String {
        func describe(_ name: String, _ id: Int?) -> String {
            guard let id else { return "\(name) none" }
            return "\(name) \(token(id).map { "\"\($0)\"" } ?? "?") (\(id))"
        }
        let specials = specialIds.count == 1 ? "1 special token" : "\(specialIds.count) special tokens"
        return "\(kind), vocab \(vocabSize), \(specials), \(describe("bos", bosId)), \(describe("eos", eosId)), "
            + "\(describe("pad", padId)), \(addsBOS ? "adds BOS" : "adds no BOS")"
    }
}
