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

    public static func named(_ s: String) -> PerplexityData {
        switch s {
        case "wiki2", "wikitext2", "wikitext-2": return .wiki2(split: "test")
        case "c4": return .c4
        default: return .file(URL(fileURLWithPath: s))
        }
    }

    /// The evaluation token stream and a description of where it came from.
    public func tokens(_ tok: Tokenizer, seqlen: Int, dataDir: URL? = nil) throws -> (tokens: [Int], source: String) {
        switch self {
        case .wiki2(let split):
            let u = try DataLocations.wikitext2(split: split, dataDir: dataDir)
            return (tok.encode(try TextCorpus.wikitextEvaluationText(u)), "\(u.path) (rows joined with \"\\n\\n\")")
        case .c4:
            let (u, canonical) = try DataLocations.c4(dataDir: dataDir)
            let docs = try TextCorpus.jsonLines(u, limit: 1100)
            var ids = tok.encode(docs.joined(separator: " "))
            if canonical { ids = Array(ids.prefix(256 * seqlen)) }
            return (ids, canonical ? "\(u.path) (first 1100 documents, 256 windows: the reference protocol)"
                                   : "\(u.path) (not the canonical validation shard: first \(docs.count) documents joined with a space)")
        case .file(let u):
            if u.lastPathComponent.hasSuffix(".raw") { return (tok.encode(try TextCorpus.wikitextEvaluationText(u)), u.path) }
            if u.path.hasSuffix(".jsonl") || u.path.hasSuffix(".json.gz") || u.path.hasSuffix(".jsonl.gz") {
                return (tok.encode(try TextCorpus.jsonLines(u, limit: 1100).joined(separator: " ")), u.path)
            }
            return (tok.encode(try TextCorpus.readText(u)), u.path)
        }
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
            for (b, w) in chunk.enumerated() {
                let hs = Array(r.finalNormOutput.data[(b * S * H)..<((b * S + S - 1) * H)])
                let nll = model.tokenNLL(normedHidden: hs, rows: S - 1, targets: Array(w.dropFirst()))
                losses.append(nll.reduce(0, +) / Double(S - 1))
            }
            i += chunk.count
            progress?(i, windows.count)
        }
        let mean = losses.reduce(0, +) / Double(losses.count)
        return PerplexityResult(perplexity: exp(mean), meanLoss: mean, windowLosses: losses, seqlen: S,
                                tokensInText: windows.count * S, seconds: Date().timeIntervalSince(start))
    }
}
