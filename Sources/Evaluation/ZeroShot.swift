// Zero-shot multiple-choice accuracy as lm-evaluation-harness computes it for a causal
// model (its HFLM backend): each (context, continuation) request is tokenized as
// _encode_pair does, scored by the summed log-probability of the continuation tokens, and
// a document's prediction is the argmax over its choices (acc) or over the log-likelihood
// divided by the choice's length in characters (acc_norm). Requests are sorted by length
// and batched (right padding, which a causal mask makes harmless); requests whose inputs
// are identical (boolq's one-token "no"/"yes") share one row, as lm-eval's grouping does.
import Checkpoints
import Corpora
import Foundation
import Tensors
import Tokenizers
import Transformer

public struct LoglikelihoodRequest: Sendable, Hashable {
    public var context: [Int]
    public var continuation: [Int]
    public init(context: [Int], continuation: [Int]) { self.context = context; self.continuation = continuation }
}

public struct ZeroShotTaskResult: Sendable {
    public var task: ZeroShotTask
    /// Documents evaluated, and how many the file holds.
    public var documents: Int
    public var available: Int
    public var acc: Double
    public var accStderr: Double
    /// nil for tasks lm-eval reports acc only for (winogrande, boolq).
    public var accNorm: Double?
    public var accNormStderr: Double?
    public var requests: Int
    /// Forward rows actually run (identical inputs share one), and their tokens.
    public var rows: Int
    public var tokens: Int
    public var seconds: Double
    /// Per document: the choice log-likelihoods and the gold index.
    public var logLikelihoods: [[Double]]
    public var golds: [Int]

    public var requestsPerSecond: Double { Double(requests) / max(seconds, 1e-9) }

    public init(task: ZeroShotTask, documents: Int, available: Int, acc: Double, accStderr: Double, accNorm: Double?,
                accNormStderr: Double?, requests: Int, rows: Int, tokens: Int, seconds: Double,
                logLikelihoods: [[Double]], golds: [Int]) {
        self.task = task; self.documents = documents; self.available = available; self.acc = acc; self.accStderr = accStderr
        self.accNorm = accNorm; self.accNormStderr = accNormStderr; self.requests = requests; self.rows = rows
        self.tokens = tokens; self.seconds = seconds; self.logLikelihoods = logLikelihoods; self.golds = golds
    }
}

public enum ZeroShot {
    /// lm-eval's _encode_pair: trailing whitespace of the context moves to the
    /// continuation; the continuation's tokens are those of context+continuation after the
    /// context's own token count. No special tokens unless `addSpecialTokens` (lm-eval's
    /// add_bos_token); an empty context becomes the prefix token (BOS, else EOS).
    public static func encodePair(_ tok: Tokenizer, context: String, continuation: String,
                                  addSpecialTokens: Bool = false) -> LoglikelihoodRequest {
        if context.isEmpty {
            let prefix = tok.bosId ?? tok.eosId ?? 0
            return LoglikelihoodRequest(context: [prefix], continuation: tok.encode(continuation, addSpecialTokens: addSpecialTokens))
        }
        var ctx = context, cont = continuation
        let n = context.pythonTrailingWhitespace
        if n > 0 {
            let scalars = Array(context.unicodeScalars)
            var head = String.UnicodeScalarView(), tail = String.UnicodeScalarView()
            head.append(contentsOf: scalars[0..<(scalars.count - n)])
            tail.append(contentsOf: scalars[(scalars.count - n)...])
            ctx = String(head)
            cont = String(tail) + continuation
        }
        let whole = tok.encode(ctx + cont, addSpecialTokens: addSpecialTokens)
        let c = tok.encode(ctx, addSpecialTokens: addSpecialTokens)
        return LoglikelihoodRequest(context: c, continuation: Array(whole.dropFirst(c.count)))
    }

    /// The summed log-probability of each request's continuation. `maxLength` is the
    /// model's context (inputs keep their last maxLength+1 tokens, less the final one, as
    /// lm-eval does); `batch` is rows per forward.
    ///
    /// Requests with the same context share one row: the context once, then each distinct
    /// continuation (less its last token) packed after it in its own attention segment with
    /// positions continuing the context's, so every continuation sees exactly what it would
    /// see alone (lm-eval runs each as its own row; the numbers agree to rounding).
    public static func loglikelihoods(_ model: Model, _ requests: [LoglikelihoodRequest], batch: Int = 8,
                                      maxLength: Int? = nil,
                                      progress: ((Int, Int) -> Void)? = nil,
                                      shouldCancel: (@Sendable () -> Bool)? = nil) throws -> (values: [Double], rows: Int, tokens: Int) {
        let maxLen = maxLength ?? model.config.maxPositionEmbeddings
        struct Row { var ids: [Int] = []; var positions: [Int] = []; var segments: [Int] = [] }
        /// Request q reads targets[q] at row positions reads[q].
        var rows: [Row] = []
        var readsOf: [(row: Int, positions: [Int], targets: [Int])] = Array(repeating: (0, [], []), count: requests.count)
        var groups: [[Int]: [Int]] = [:]   // context → request indices
        var groupOrder: [[Int]] = []
        for (q, r) in requests.enumerated() {
            precondition(!r.continuation.isEmpty, "a continuation must have at least one token")
            let all = r.context + r.continuation
            if all.count - 1 <= maxLen {
                if groups[r.context] == nil { groupOrder.append(r.context) }
                groups[r.context, default: []].append(q)
            } else {
                // Too long: lm-eval's left-truncated single row.
                let input = Array(all.suffix(maxLen + 1).dropLast())
                let n = min(r.continuation.count, input.count)
                rows.append(Row(ids: input, positions: Array(0..<input.count), segments: Array(repeating: 0, count: input.count)))
                readsOf[q] = (rows.count - 1, Array((input.count - n)..<input.count), Array(r.continuation.suffix(n)))
            }
        }
        for ctx in groupOrder {
            let members = groups[ctx]!
            let L = ctx.count
            var row = Row(ids: ctx, positions: Array(0..<L), segments: Array(repeating: 0, count: L))
            var startOf: [[Int]: Int] = [:]   // distinct continuation → offset of its tokens in the row
            for q in members {
                let cont = requests[q].continuation
                let start: Int
                if let s0 = startOf[cont] { start = s0 } else {
                    start = row.ids.count
                    startOf[cont] = start
                    let body = cont.dropLast()
                    row.ids += body
                    row.positions += (0..<body.count).map { L + $0 }
                    row.segments += Array(repeating: startOf.count, count: body.count)
                }
                // Token 0 is predicted by the context's last position, token j by the j−1th
                // continuation position.
                let positions = [L - 1] + (1..<cont.count).map { start + $0 - 1 }
                readsOf[q] = (rows.count, positions, cont)
            }
            rows.append(row)
        }
        var readersOfRow = [[Int]](repeating: [], count: rows.count)
        for (q, r) in readsOf.enumerated() { readersOfRow[r.row].append(q) }
        // Longest first, as lm-eval orders its requests; ties by the tokens, for a stable order.
        let order = rows.indices.sorted { a, b in
            rows[a].ids.count != rows[b].ids.count ? rows[a].ids.count > rows[b].ids.count
                : rows[a].ids.lexicographicallyPrecedes(rows[b].ids)
        }
        var values = [Double](repeating: 0, count: requests.count)
        let H = model.hiddenSize
        var done = 0, tokens = 0
        var i = 0
        while i < order.count {
            if shouldCancel?() == true { throw ForwardCancelled() }
            let chunk = Array(order[i..<min(order.count, i + max(1, batch))])
            let T = rows[chunk[0]].ids.count
            // Right padding: pads come after every real token, so the causal mask hides them.
            func padded(_ x: [Int], _ v: Int) -> [Int] { x + [Int](repeating: v, count: T - x.count) }
            var opts = ForwardOptions(positionIds: chunk.map { padded(rows[$0].positions, 0) }, logits: .none)
            if chunk.contains(where: { rows[$0].segments.contains { $0 != 0 } }) {
                opts.segments = chunk.map { padded(rows[$0].segments, 0) }
            }
            opts.shouldCancel = shouldCancel
            let r = try model.forward(chunk.map { padded(rows[$0].ids, 0) }, options: opts)
            var hidden: [Float] = []
            var targets: [Int] = []
            var spans: [(request: Int, start: Int, count: Int)] = []
            r.finalNormOutput.data.withUnsafeBufferPointer { hp in
                for (b, row) in chunk.enumerated() {
                    tokens += rows[row].ids.count
                    for q in readersOfRow[row] {
                        let rd = readsOf[q]
                        spans.append((q, targets.count, rd.targets.count))
                        for p in rd.positions { hidden.append(contentsOf: hp[((b * T + p) * H)..<((b * T + p + 1) * H)]) }
                        targets += rd.targets
                    }
                }
            }
            let nll = model.tokenNLL(normedHidden: hidden, rows: targets.count, targets: targets)
            for s in spans { values[s.request] = -nll[s.start..<(s.start + s.count)].reduce(0, +) }
            done += chunk.count
            i += chunk.count
            progress?(done, order.count)
        }
        return (values, rows.count, tokens)
    }

    /// lm-eval's metrics for one document: acc from argmax of the log-likelihoods, acc_norm
    /// from argmax of log-likelihood / len(choice) (first maximum wins, as numpy's argmax).
    public static func predictions(_ lls: [Double], choices: [String]) -> (acc: Int, accNorm: Int) {
        func argmax(_ x: [Double]) -> Int {
            var best = 0
            for k in x.indices where x[k] > x[best] { best = k }
            return best
        }
        return (argmax(lls), argmax(zip(lls, choices).map { $0 / Double($1.pythonLength) }))
    }

    /// lm-eval's mean_stderr: the sample standard deviation over sqrt(n).
    public static func stderr(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return .nan }
        let mu = xs.reduce(0, +) / Double(xs.count)
        let v = xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(xs.count - 1)
        return v.squareRoot() / Double(xs.count).squareRoot()
    }

    /// lm-eval's --limit: an integer takes the first N documents; a value below 1 a fraction
    /// (rounded up).
    public static func limited(_ count: Int, limit: Double?) -> Int {
        guard let l = limit else { return count }
        if l < 1 { return min(count, Int((Double(count) * l).rounded(.up))) }
        return min(count, Int(l))
    }

    /// A task from its files: the first `limit` documents (lm-eval's --limit), evaluated.
    public static func run(_ model: Model, task: ZeroShotTask, limit: Double?, batch: Int = 8, addSpecialTokens: Bool = false,
                           dataDir: URL? = nil, progress: ((Int, Int) -> Void)? = nil,
                           shouldCancel: (@Sendable () -> Bool)? = nil) throws -> ZeroShotTaskResult {
        let all = try task.documents(dataDir: dataDir)
        let docs = Array(all.prefix(limited(all.count, limit: limit)))
        return try evaluate(model, task: task, documents: docs, available: all.count, batch: batch, addSpecialTokens: addSpecialTokens,
                            progress: progress, shouldCancel: shouldCancel)
    }

    /// One task: builds its requests, scores them, and aggregates acc / acc_norm.
    public static func evaluate(_ model: Model, task: ZeroShotTask, documents: [ZeroShotDoc], available: Int? = nil,
                                batch: Int = 8, addSpecialTokens: Bool = false,
                                progress: ((Int, Int) -> Void)? = nil,
                                shouldCancel: (@Sendable () -> Bool)? = nil) throws -> ZeroShotTaskResult {
        guard let tok = model.tokenizer else { throw ModelError("\(model.source) has no tokenizer") }
        let start = Date()
        var requests: [LoglikelihoodRequest] = []
        for d in documents {
            for (c, k) in zip(d.contexts, d.continuations) {
                requests.append(encodePair(tok, context: c, continuation: k, addSpecialTokens: addSpecialTokens))
            }
        }
        let (lls, rows, tokens) = try loglikelihoods(model, requests, batch: batch, progress: progress, shouldCancel: shouldCancel)
        var k = 0
        var accs: [Double] = [], norms: [Double] = [], perDoc: [[Double]] = []
        for d in documents {
            let l = Array(lls[k..<(k + d.contexts.count)])
            k += d.contexts.count
            let p = predictions(l, choices: d.choices)
            accs.append(p.acc == d.gold ? 1 : 0)
            norms.append(p.accNorm == d.gold ? 1 : 0)
            perDoc.append(l)
        }
        let n = Double(max(1, documents.count))
        let hasNorm = task.metrics.contains("acc_norm")
        return ZeroShotTaskResult(task: task, documents: documents.count, available: available ?? documents.count,
                                  acc: accs.reduce(0, +) / n, accStderr: stderr(accs),
                                  accNorm: hasNorm ? norms.reduce(0, +) / n : nil, accNormStderr: hasNorm ? stderr(norms) : nil,
                                  requests: requests.count, rows: rows, tokens: tokens,
                                  seconds: Date().timeIntervalSince(start), logLikelihoods: perDoc, golds: documents.map(\.gold))
    }
}

/// A run over several tasks, as lm-eval's results JSON and its printed table show it.
public struct ZeroShotReport: Sendable {
    public var model: String
    public var results: [ZeroShotTaskResult]
    public var limit: Double?
    public var batch: Int

    public init(model: String, results: [ZeroShotTaskResult], limit: Double?, batch: Int) {
        self.model = model; self.results = results; self.limit = limit; self.batch = batch
    }

    /// The mean over tasks of each task's headline accuracy: acc_norm where the task
    /// reports it, else acc (the convention of the pruning papers' average column); and
    /// the plain mean of acc.
    public var averageAcc: Double { results.map(\.acc).reduce(0, +) / Double(max(1, results.count)) }
    public var averageHeadline: Double {
        results.map { $0.accNorm ?? $0.acc }.reduce(0, +) / Double(max(1, results.count))
    }
    public var seconds: Double { results.map(\.seconds).reduce(0, +) }
    public var requests: Int { results.map(\.requests).reduce(0, +) }

    /// lm-eval's results layout: results.{task}.{"acc,none", "acc_stderr,none", ...}, with
    /// versions, n-shot, higher_is_better, n-samples and the run's config.
    public func json() -> String {
        func num(_ d: Double) -> String {
            if d.isNaN { return "\"N/A\"" }
            return String(describing: d)
        }
        func str(_ s: String) -> String {
            var o = ""
            JSONValue.quote(s, into: &o)
            return o
        }
        var parts: [String] = []
        var res: [String] = []
        for r in results {
            var f = ["    \"alias\": \(str(r.task.rawValue))", "    \"acc,none\": \(num(r.acc))", "    \"acc_stderr,none\": \(num(r.accStderr))"]
            if let n = r.accNorm { f += ["    \"acc_norm,none\": \(num(n))", "    \"acc_norm_stderr,none\": \(num(r.accNormStderr ?? .nan))"] }
            res.append("   \(str(r.task.rawValue)): {\n " + f.joined(separator: ",\n ") + "\n   }")
        }
        parts.append("  \"results\": {\n" + res.joined(separator: ",\n") + "\n  }")
        parts.append("  \"versions\": {" + results.map { "\(str($0.task.rawValue)): \($0.task.version)" }.joined(separator: ", ") + "}")
        parts.append("  \"n-shot\": {" + results.map { "\(str($0.task.rawValue)): 0" }.joined(separator: ", ") + "}")
        parts.append("  \"higher_is_better\": {" + results.map { r in
            "\(str(r.task.rawValue)): {" + r.task.metrics.map { "\(str($0)): true" }.joined(separator: ", ") + "}"
        }.joined(separator: ", ") + "}")
        parts.append("  \"n-samples\": {" + results.map { "\(str($0.task.rawValue)): {\"original\": \($0.available), \"effective\": \($0.documents)}" }.joined(separator: ", ") + "}")
        let limitText = limit.map { $0 == $0.rounded() && $0 >= 1 ? String(Int($0)) : String($0) } ?? "null"
        parts.append("  \"config\": {\"model\": \"come\", \"model_args\": \(str("pretrained=" + model)), \"batch_size\": \(batch), \"limit\": \(limitText), \"num_fewshot\": 0}")
        parts.append("  \"average\": {\"acc\": \(num(averageAcc)), \"acc_norm_or_acc\": \(num(averageHeadline))}")
        parts.append("  \"timing\": {\"seconds\": \(num(seconds)), \"requests\": \(requests), \"requests_per_second\": \(num(Double(requests) / max(seconds, 1e-9)))}")
        return "{\n" + parts.joined(separator: ",\n") + "\n}\n"
    }

    /// lm-eval's printed table (Tasks, Version, Filter, n-shot, Metric, Value ± Stderr, four
    /// decimals), with the average over tasks as a last row.
    public func markdown() -> String {
        var rows: [[String]] = []
        for r in results {
            let name = r.task.rawValue
            let v = r.task.version == r.task.version.rounded() ? String(Int(r.task.version)) : String(r.task.version)
            rows.append([name, v, "none", "0", "acc", "↑", String(format: "%.4f", r.acc), "±", fmt(r.accStderr)])
            if let n = r.accNorm {
                rows.append(["", "", "none", "0", "acc_norm", "↑", String(format: "%.4f", n), "±", fmt(r.accNormStderr ?? .nan)])
            }
        }
        rows.append(["average", "", "", "", "acc_norm|acc", "↑", String(format: "%.4f", averageHeadline), "", ""])
        let header = ["Tasks", "Version", "Filter", "n-shot", "Metric", "", "Value", "", "Stderr"]
        let right: Set<Int> = [1, 3, 6, 8]
        let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            "|" + cells.enumerated().map { c, s in
                let pad = String(repeating: " ", count: widths[c] - s.count)
                return right.contains(c) ? pad + s : s + pad
            }.joined(separator: "|") + "|"
        }
        let rule = "|" + widths.indices.map { c in
            String(repeating: "-", count: max(1, widths[c] - (right.contains(c) ? 1 : 0))) + (right.contains(c) ? ":" : "")
        }.joined(separator: "|") + "|"
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    private func fmt(_ d: Double) -> String { d.isNaN ? "N/A" : String(format: "%.4f", d) }
}
