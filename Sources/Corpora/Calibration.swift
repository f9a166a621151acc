// Calibration token streams as the reference's `get_trainloaders` builds them
// (reference-algorithms.md §2.1): rows shuffled by numpy's default_rng(seed).permutation,
// the first `nsamples` rows joined and tokenised once (wiki2, c4, pg19, bookcorpus) or
// tokenised per example and padded to S (alpaca, mmlu); plus a window-count mode.
import Foundation
import Tokenizers

/// One calibration stream: `input_ids` [1, T] and `attention_mask` [1, T] as one row.
public struct CalibrationStream: Sendable {
    public var inputIds: [Int]
    public var attentionMask: [Int]
    /// What it was built from, for logs and the info JSON.
    public var description: String
    /// Things a user should know (fallback files, the window-count search).
    public var notes: [String]
    /// Dataset rows used (nil for a pre-tokenised stream).
    public var rows: Int?

    public init(inputIds: [Int], attentionMask: [Int]? = nil, description: String, notes: [String] = [], rows: Int? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask ?? Array(repeating: 1, count: inputIds.count)
        self.description = description
        self.notes = notes
        self.rows = rows
    }

    public var count: Int { inputIds.count }
    public var padCount: Int { attentionMask.filter { $0 == 0 }.count }

    /// Non-overlapping windows of S tokens, the tail dropped; an error (not a silent
    /// shorter window, quirk Q6) when the stream holds fewer than S tokens.
    public func windows(seqlen: Int, limit: Int? = nil) throws -> (ids: [[Int]], masks: [[Int]]) {
        guard seqlen >= 2 else { throw CorpusError("seqlen must be at least 2, got \(seqlen)") }
        let w = count / seqlen
        guard w > 0 else {
            throw CorpusError("the calibration stream has \(count) tokens, fewer than one window of \(seqlen); raise --nsamples, use --nwindows, or lower --seqlen")
        }
        let n = min(w, limit ?? w)
        let ids = (0..<n).map { Array(inputIds[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
        let masks = (0..<n).map { Array(attentionMask[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
        return (ids, masks)
    }
}

public enum CalibrationDataset: String, CaseIterable, Sendable {
    case wiki2, c4, pg19, bookcorpus, alpaca, mmlu

    /// Matched by substring in the reference's order (wiki2, c4, pg19, bookcorpus, alpaca, mmlu).
    public static func named(_ s: String) throws -> CalibrationDataset {
        for d in allCases where s.contains(d.rawValue) { return d }
        throw CorpusError("unknown calibration dataset `\(s)` (wiki2, c4, pg19, bookcorpus, alpaca, mmlu)")
    }

    /// Each example is its own window (padded to S).
    public var isPerExample: Bool { self == .alpaca || self == .mmlu }
}

/// How much data: the reference's rows (`--nsamples`) or N windows of S tokens.
public enum CalibrationAmount: Sendable, Equatable {
    case rows(Int)
    case windows(Int)
}

public struct CalibrationRequest: Sendable {
    public var dataset: CalibrationDataset
    public var amount: CalibrationAmount
    public var seed: UInt64
    /// Window length S (the reference hard-codes 2048).
    public var seqlen: Int
    /// mmlu only: keep this many subjects of the shuffled list (the reference passes it for MKA only).
    public var numTasks: Int?
    public var dataDir: URL?
    /// Pads at the start of each alpaca/mmlu example instead of the end.
    public var padLeft: Bool

    public init(dataset: CalibrationDataset, amount: CalibrationAmount, seed: UInt64 = 10, seqlen: Int = 2048,
                numTasks: Int? = nil, dataDir: URL? = nil, padLeft: Bool = false) {
        self.dataset = dataset; self.amount = amount; self.seed = seed; self.seqlen = seqlen
        self.numTasks = numTasks; self.dataDir = dataDir; self.padLeft = padLeft
    }
}

public enum Calibration {
    /// The 57 MMLU subjects in the reference's (alphabetical) order.
    public static let mmluSubjects = [
        "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
        "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
        "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
        "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
        "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
        "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
        "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
        "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
        "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
        "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
        "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
        "world_religions",
    ]

    /// Builds the stream the reference would feed its scorers.
    public static func stream(_ r: CalibrationRequest, tokenizer tok: Tokenizer) throws -> CalibrationStream {
        switch r.dataset {
        case .wiki2, .c4, .pg19, .bookcorpus:
            let (rows, source, notes) = try joinedRows(r.dataset, dataDir: r.dataDir)
            let order = NumpyRandom.permutation(rows.count, seed: r.seed)
            let joiner = r.dataset == .c4 ? " " : "\n\n"
            func build(_ n: Int) -> [Int] {
                tok.encode(order.prefix(n).map { rows[$0] }.joined(separator: joiner))
            }
            switch r.amount {
            case .rows(let n):
                guard n > 0 else { throw CorpusError("--nsamples must be positive") }
                let n2 = min(n, rows.count)
                var ns = notes
                if n2 < n { ns.append("\(r.dataset.rawValue): only \(rows.count) rows, using all of them") }
                let ids = build(n2)
                return CalibrationStream(inputIds: ids, description: "\(r.dataset.rawValue): \(n2) rows of \(source) (seed \(r.seed), joined with \(joiner == " " ? "\" \"" : "\"\\n\\n\""))",
                                         notes: ns, rows: n2)
            case .windows(let w):
                guard w > 0 else { throw CorpusError("--nwindows must be positive") }
                let need = w * r.seqlen
                // The smallest row count whose stream holds `need` tokens: double, then bisect.
                var hi = 1
                var ids = build(hi)
                while ids.count < need {
                    guard hi < rows.count else {
                        throw CorpusError("\(r.dataset.rawValue): all \(rows.count) rows of \(source) give \(ids.count) tokens, fewer than \(w) windows of \(r.seqlen)")
                    }
                    hi = min(rows.count, hi * 2)
                    ids = build(hi)
                }
                var lo = hi / 2  // build(lo) is short (or lo == 0)
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    let m = build(mid)
                    if m.count >= need { hi = mid; ids = m } else { lo = mid }
                }
                return CalibrationStream(inputIds: Array(ids.prefix(need)),
                                         description: "\(r.dataset.rawValue): \(w) windows of \(r.seqlen) tokens from the first \(hi) rows of \(source) (seed \(r.seed))",
                                         notes: notes + ["--nwindows \(w): \(hi) rows (the reference's --nsamples \(hi)) give \(ids.count) tokens; the first \(need) are used"],
                                         rows: hi)
            }
        case .alpaca:
            let (examples, source, notes) = try alpacaExamples(dataDir: r.dataDir)
            let n = try perExampleCount(r.amount, available: examples.count, name: "alpaca")
            let order = NumpyRandom.permutation(examples.count, seed: r.seed)
            let texts = order.prefix(n).map { examples[$0] }
            var s = try padded(texts, tokenizer: tok, seqlen: r.seqlen, truncate: false, padLeft: r.padLeft, name: "alpaca")
            s.description = "alpaca: \(n) examples of \(source) (seed \(r.seed)), each padded to \(r.seqlen)"
            s.notes = notes
            s.rows = n
            return s
        case .mmlu:
            let (texts, desc) = try mmluPrompts(amount: r.amount, seed: r.seed, numTasks: r.numTasks, dataDir: r.dataDir)
            var s = try padded(texts, tokenizer: tok, seqlen: r.seqlen, truncate: true, padLeft: r.padLeft, name: "mmlu")
            s.description = desc
            s.rows = texts.count
            return s
        }
    }

    static func perExampleCount(_ a: CalibrationAmount, available: Int, name: String) throws -> Int {
        let n: Int
        switch a { case .rows(let k): n = k; case .windows(let k): n = k }
        guard n > 0 else { throw CorpusError("\(name): the sample count must be positive") }
        guard n <= available else { throw CorpusError("\(name): \(n) examples asked for, the file has \(available)") }
        return n
    }

    /// Each text tokenised separately (special tokens once per text), padded with the pad
    /// (= EOS) token to exactly S, concatenated row-major; mask 0 on pads.
    static func padded(_ texts: [String], tokenizer tok: Tokenizer, seqlen S: Int, truncate: Bool, padLeft: Bool,
                       name: String) throws -> CalibrationStream {
        guard let pad = tok.eosId ?? tok.padId else { throw CorpusError("\(name): the tokenizer has no EOS token to pad with") }
        var ids: [Int] = [], mask: [Int] = []
        ids.reserveCapacity(texts.count * S); mask.reserveCapacity(texts.count * S)
        let specials = tok.encode("")
        let prefix = tok.addsBOS ? Array(specials.prefix(1)) : []
        let suffix = Array(specials.dropFirst(prefix.count))
        for (i, t) in texts.enumerated() {
            var e = tok.encode(t)
            if e.count > S {
                guard truncate else {
                    throw CorpusError("\(name): example \(i) has \(e.count) tokens, more than the window of \(S) (the reference fails here too: it pads without truncation)")
                }
                // HF truncation keeps the special tokens and cuts the text on the right.
                let body = tok.encode(t, addSpecialTokens: false)
                e = prefix + body.prefix(max(0, S - prefix.count - suffix.count)) + suffix
            }
            let p = S - e.count
            if padLeft {
                ids += Array(repeating: pad, count: p) + e
                mask += Array(repeating: 0, count: p) + Array(repeating: 1, count: e.count)
            } else {
                ids += e + Array(repeating: pad, count: p)
                mask += Array(repeating: 1, count: e.count) + Array(repeating: 0, count: p)
            }
        }
        return CalibrationStream(inputIds: ids, attentionMask: mask, description: name)
    }

    // MARK: sources

    /// Rows of a joined-text data set, where they come from, and fallback notes.
    static func joinedRows(_ d: CalibrationDataset, dataDir: URL?) throws -> ([String], String, [String]) {
        guard let dir = DataLocations.dataDirectory(dataDir) else {
            throw CorpusError("\(d.rawValue): no data directory found (looked for ../shared/data); pass --data-dir DIR")
        }
        let fm = FileManager.default
        switch d {
        case .wiki2:
            let train = dir.appendingPathComponent("wikitext-2-raw-v1/wiki.train.raw")
            if fm.fileExists(atPath: train.path) { return (try TextCorpus.wikitextRows(train), train.path, []) }
            let valid = dir.appendingPathComponent("wikitext-2-raw-v1/wiki.valid.raw")
            guard fm.fileExists(atPath: valid.path) else { throw CorpusError("wiki2: neither \(train.path) nor \(valid.path) exists") }
            return (try TextCorpus.wikitextRows(valid), valid.path,
                    ["wiki2: the training split (wiki.train.raw) is not in \(dir.path); calibrating on the validation split wiki.valid.raw instead (give --data-dir DIR with wikitext-2-raw-v1/wiki.train.raw for the reference's data)"])
        case .c4:
            for name in ["c4/c4-train.00000-of-01024.json.gz", "en/c4-train.00000-of-01024.json.gz", "c4/en/c4-train.00000-of-01024.json.gz"] {
                let u = dir.appendingPathComponent(name)
                if fm.fileExists(atPath: u.path) { return (try TextCorpus.jsonLines(u), u.path, []) }
            }
            for name in ["c4/c4-sample.00000-of-00001.json.gz", "c4/c4_demo.jsonl"] {
                let u = dir.appendingPathComponent(name)
                if fm.fileExists(atPath: u.path) {
                    return (try TextCorpus.jsonLines(u), u.path,
                            ["c4: the reference's training shard c4-train.00000-of-01024.json.gz is not in \(dir.path)/c4; using \(name) instead"])
                }
            }
            throw CorpusError("c4: no C4 training file under \(dir.path)/c4")
        case .pg19, .bookcorpus:
            let folder = dir.appendingPathComponent(d.rawValue)
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path).sorted(), !names.isEmpty else {
                throw CorpusError("\(d.rawValue) is not on this machine: pass --data-dir DIR holding \(d.rawValue)/ (.jsonl files with a `text` field, or .txt files: one book per file for pg19, one sentence per line for bookcorpus)")
            }
            var rows: [String] = []
            for n in names {
                let u = folder.appendingPathComponent(n)
                if n.hasSuffix(".jsonl") || n.hasSuffix(".jsonl.gz") || n.hasSuffix(".json.gz") { rows += try TextCorpus.jsonLines(u) }
                else if n.hasSuffix(".txt") {
                    let t = try TextCorpus.readText(u)
                    if d == .pg19 { rows.append(t) } else { rows += t.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
                }
            }
            guard !rows.isEmpty else { throw CorpusError("\(d.rawValue): no .jsonl or .txt rows in \(folder.path)") }
            return (rows, folder.path, ["\(d.rawValue): rows read from \(folder.path) in file order; the HF dataset's row order may differ"])
        case .alpaca, .mmlu:
            throw CorpusError("\(d.rawValue) is a per-example data set")
        }
    }

    /// `instruction + "\n" + input + "\n" + output` per record, in file order.
    static func alpacaExamples(dataDir: URL?) throws -> ([String], String, [String]) {
        guard let dir = DataLocations.dataDirectory(dataDir) else { throw CorpusError("alpaca: no data directory found; pass --data-dir DIR") }
        let fm = FileManager.default
        let candidates = ["alpaca-cleaned/alpaca_data_cleaned.json", "alpaca/alpaca_data_cleaned.json", "alpaca/alpaca_data.json", "alpaca/alpaca_data_1k.json"]
        guard let name = candidates.first(where: { fm.fileExists(atPath: dir.appendingPathComponent($0).path) }) else {
            throw CorpusError("alpaca: none of \(candidates.joined(separator: ", ")) under \(dir.path)")
        }
        let u = dir.appendingPathComponent(name)
        guard let arr = try JSONSerialization.jsonObject(with: Data(contentsOf: u)) as? [[String: Any]] else {
            throw CorpusError("\(u.path): expected a JSON array of records")
        }
        let ex = try arr.enumerated().map { (i, o) -> String in
            guard let a = o["instruction"] as? String, let b = o["input"] as? String, let c = o["output"] as? String else {
                throw CorpusError("\(u.path): record \(i) lacks instruction/input/output strings")
            }
            return a + "\n" + b + "\n" + c
        }
        let notes = name.hasSuffix("cleaned.json") ? [] : ["alpaca: the reference uses yahma/alpaca-cleaned; using \(name) (a different record set)"]
        return (ex, u.path, notes)
    }

    /// The mmlu prompts in the reference's order (§2.1 mmlu steps 1–5) and a description.
    static func mmluPrompts(amount: CalibrationAmount, seed: UInt64, numTasks: Int?, dataDir: URL?) throws -> ([String], String) {
        guard let dir = DataLocations.dataDirectory(dataDir) else { throw CorpusError("mmlu: no data directory found; pass --data-dir DIR") }
        let nsamples: Int
        switch amount { case .rows(let n): nsamples = n; case .windows(let n): nsamples = n }
        guard nsamples > 0 else { throw CorpusError("mmlu: the sample count must be positive") }
        var rng = PythonRandom(seed: seed)
        var subjects = mmluSubjects
        if let k = numTasks {
            guard k > 0 else { throw CorpusError("mmlu: --num-tasks must be positive") }
            rng.shuffle(&subjects)
            subjects = Array(subjects.prefix(k))
        }
        let k = subjects.count
        let extra = nsamples % k, sub = nsamples / k
        var counts = Array(repeating: sub + 1, count: extra) + Array(repeating: sub, count: k - extra)
        rng.shuffle(&counts)
        var prompts: [String] = []
        for (subject, count) in zip(subjects, counts) where count > 0 {
            // The HF cais/mmlu configs have no train split; the reference falls back to validation.
            var u = dir.appendingPathComponent("mmlu/train/\(subject)_train.csv")
            if !FileManager.default.fileExists(atPath: u.path) { u = dir.appendingPathComponent("mmlu/val/\(subject)_val.csv") }
            let rows = try CSV.rows(TextCorpus.readText(u))
            let order = NumpyRandom.permutation(rows.count, seed: seed)
            guard count <= rows.count else { throw CorpusError("mmlu: \(subject) has \(rows.count) rows, \(count) asked for") }
            for i in order.prefix(count) {
                let r = rows[i]
                guard r.count >= 6 else { throw CorpusError("\(u.path): row \(i) has \(r.count) columns, expected 6") }
                prompts.append(r[0] + "\nA. " + r[1] + "\nB. " + r[2] + "\nC. " + r[3] + "\nD. " + r[4] + "\nAnswer:")
            }
        }
        let desc = "mmlu: \(nsamples) questions from \(k) subjects of \(dir.path)/mmlu (seed \(seed)), each one window"
        return (prompts, desc)
    }
}

/// RFC 4180-style CSV as Python's csv.reader reads a file opened with newline="": quoted
/// fields may hold commas, doubled quotes and line breaks (kept as written).
public enum CSV {
    public static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false, sawAny = false
        var it = Array(text.unicodeScalars)[...]
        func endField() { row.append(field); field = ""; sawAny = true }
        func endRow() { if sawAny || !field.isEmpty { endField(); rows.append(row) }; row = []; sawAny = false }
        while let c = it.first {
            it = it.dropFirst()
            if quoted {
                if c == "\"" {
                    if it.first == "\"" { field.unicodeScalars.append("\""); it = it.dropFirst() } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "\"": quoted = true; sawAny = true
            case ",": endField()
            case "\r":
                if it.first == "\n" { it = it.dropFirst() }
                endRow()
            case "\n": endRow()
            default: field.unicodeScalars.append(c)
            }
        }
        endRow()
        return rows
    }
}
