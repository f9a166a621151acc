// Perplexity as the pruning papers measure it (reference-algorithms.md §2.2): the text is
// tokenised once, cut into non-overlapping windows of S tokens (tail dropped), each
// window's loss is the mean NLL of its S−1 shifted predictions, PPL = exp(mean loss).
import Corpora
import Foundation
import Tensors
import Tokenizers
import Transformer

public struct PerplexityResult: Sendable {
    public var perplexity: Double
    /// mean over windows of the per-window mean NLL
    public var meanLoss: Double
    public var windowLosses: [Double]
    public var seqlen: Int
    public var tokensInText: Int
    public var seconds: Double
    public var tokensPerSecond: Double { Double(windowLosses.count * seqlen) / max(seconds, 1e-9) }
}

public enum PerplexityData: Sendable {
    case wiki2(split: String)
    case c4
    case file(URL)

    public static func named(_ s: String, split: String = "test") -> PerplexityData {
        switch s {
        case "wiki2", "wikitext2", "wikitext-2": return .wiki2(split: split)
        case "c4": return .c4
        default: return .file(URL(fileURLWithPath: s))
        }
    }

    /// The evaluation text as the protocol joins it, where it came from, and (C4's reference
    /// protocol) how many windows of the stream count.
    public func text(dataDir: URL? = nil) throws -> (text: String, source: String, windowCap: Int?) {
        switch self {
        case .wiki2(let split):
            let u = try DataLocations.wikitext2(split: split, dataDir: dataDir)
            return (try TextCorpus.wikitextEvaluationText(u), "\(u.path) (rows joined with \"\\n\\n\")", nil)
        case .c4:
            let (u, canonical) = try DataLocations.c4(dataDir: dataDir)
            let docs = try TextCorpus.jsonLines(u, limit: 1100)
            return (docs.joined(separator: " "),
                    canonical ? "\(u.path) (first 1100 documents, 256 windows: the reference protocol)"
                              : "\(u.path) (not the canonical validation shard: first \(docs.count) documents joined with a space)",
                    canonical ? 256 : nil)
        case .file(let u):
            if u.lastPathComponent.hasSuffix(".raw") { return (try TextCorpus.wikitextEvaluationText(u), u.path, nil) }
            if u.path.hasSuffix(".jsonl") || u.path.hasSuffix(".json.gz") || u.path.hasSuffix(".jsonl.gz") {
                return (try TextCorpus.jsonLines(u, limit: 1100).joined(separator: " "), u.path, nil)
            }
            return (try TextCorpus.readText(u), u.path, nil)
        }
    }

    /// The evaluation token stream and a description of where it came from.
    public func tokens(_ tok: Tokenizer, seqlen: Int, dataDir: URL? = nil) throws -> (tokens: [Int], source: String) {
        let t = try text(dataDir: dataDir)
        var ids = tok.encode(t.text)
        if let cap = t.windowCap { ids = Array(ids.prefix(cap * seqlen)) }
        return (ids, t.source)
    }
}

public enum Perplexity {
    /// Non-overlapping windows of `seqlen` tokens; the tail is dropped.
    public static func windows(_ tokens: [Int], seqlen: Int, limit: Int? = nil) throws -> [[Int]] {
        guard seqlen >= 2 else { throw CorpusError("seqlen must be at least 2, got \(seqlen)") }
        let n = tokens.count / seqlen
        guard n > 0 else { throw CorpusError("the text has \(tokens.count) tokens, fewer than one window of \(seqlen)") }
        let w = min(n, limit ?? n)
        return (0..<w).map { Array(tokens[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
    }

    public static func evaluate(_ model: Model, windows: [[Int]], batch: Int = 1,
                                progress: ((Int, Int) -> Void)? = nil,
                                shouldCancel: (@Sendable () -> Bool)? = nil) throws -> PerplexityResult {
        let S = windows.first?.count ?? 0
        let H = model.hiddenSize
        let start = Date()
        var losses: [Double] = []
        var i = 0
        while i < windows.count {
            let chunk = Array(windows[i..<min(windows.count, i + max(1, batch))])
            var opts = ForwardOptions(logits: .none)
            opts.shouldCancel = shouldCancel
            let r = try model.forward(chunk, options: opts)
            losses += model.shiftedLosses(r, ids: chunk)
            i += chunk.count
            progress?(i, windows.count)
        }
        let mean = losses.reduce(0, +) / Double(losses.count)
        return PerplexityResult(perplexity: exp(mean), meanLoss: mean, windowLosses: losses, seqlen: S,
                                tokensInText: windows.count * S, seconds: Date().timeIntervalSince(start))
    }
}
