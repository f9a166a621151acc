// The seven zero-shot benchmarks of the paper, read from their original files and turned
// into multiple-choice documents exactly as lm-evaluation-harness's 0-shot task
// definitions do: the prompt template, the continuation strings (target delimiter " "),
// the preprocessing, and which metrics each task reports. tutorials/reference/evaluation.md
// describes every template.
import Foundation

/// One multiple-choice document: request i scores `continuations[i]` after `contexts[i]`.
public struct ZeroShotDoc: Sendable, Equatable {
    /// One context per choice: the same prompt repeated, or (winogrande) one per option.
    public var contexts: [String]
    /// One continuation per choice, with lm-eval's target delimiter (a leading space).
    public var continuations: [String]
    /// lm-eval's doc_to_choice strings: acc_norm divides by their length in characters.
    public var choices: [String]
    public var gold: Int

    public init(contexts: [String], continuations: [String], choices: [String], gold: Int) {
        self.contexts = contexts; self.continuations = continuations; self.choices = choices; self.gold = gold
    }

    /// A document whose choices are continuations of one prompt.
    public init(prompt: String, choices: [String], gold: Int) {
        self.init(contexts: Array(repeating: prompt, count: choices.count), continuations: choices.map { " " + $0 },
                  choices: choices, gold: gold)
    }
}

public enum ZeroShotTask: String, CaseIterable, Sendable {
    case piqa, hellaswag, winogrande, arc_easy, arc_challenge, boolq, openbookqa

    /// Metrics lm-eval's task YAML lists.
    public var metrics: [String] {
        switch self {
        case .winogrande, .boolq: return ["acc"]
        default: return ["acc", "acc_norm"]
        }
    }

    /// The task version lm-eval reports.
    public var version: Double { self == .boolq ? 2.0 : 1.0 }

    /// The split lm-eval evaluates and the file it lives in (relative to the data folder).
    public var split: String {
        switch self {
        case .piqa, .hellaswag, .winogrande, .boolq: return "validation"
        case .arc_easy, .arc_challenge, .openbookqa: return "test"
        }
    }

    public var file: String {
        switch self {
        case .piqa: return "piqa/valid.jsonl"
        case .hellaswag: return "hellaswag/hellaswag_val.jsonl"
        case .winogrande: return "winogrande/dev.jsonl"
        case .arc_easy: return "arc_easy/ARC-Easy-Test.jsonl"
        case .arc_challenge: return "arc_challenge/ARC-Challenge-Test.jsonl"
        case .boolq: return "boolq/val.jsonl"
        case .openbookqa: return "openbookqa/test.jsonl"
        }
    }

    /// "all" or a comma-separated list of task names.
    public static func parse(_ spec: String) throws -> [ZeroShotTask] {
        let names = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names.isEmpty || names == ["all"] { return allCases }
        return try names.map { n in
            guard let t = ZeroShotTask(rawValue: n) else {
                throw CorpusError("unknown task `\(n)`; the tasks are \(allCases.map(\.rawValue).joined(separator: ", ")) (or all)")
            }
            return t
        }
    }

    /// The task's documents from `dataDir` (default: ../shared/data or COME_DATA), in file
    /// order (the order lm-eval's --limit takes them in).
    public func documents(dataDir: URL? = nil) throws -> [ZeroShotDoc] {
        guard let d = DataLocations.dataDirectory(dataDir) else {
            throw CorpusError("\(rawValue): no data directory found (looked for ../shared/data); pass --data-dir DIR holding \(file)")
        }
        let url = d.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CorpusError("\(rawValue): \(url.path) does not exist (a data folder holds \(file))")
        }
        let rows = try ZeroShotTask.jsonRows(url)
        switch self {
        case .piqa:
            let labelsURL = url.deletingLastPathComponent().appendingPathComponent("valid-labels.lst")
            let labels = try TextCorpus.readText(labelsURL).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard labels.count >= rows.count else {
                throw CorpusError("\(labelsURL.path): \(labels.count) labels for \(rows.count) documents in \(url.lastPathComponent)")
            }
            return try rows.enumerated().map { i, r in
                guard let gold = Int(labels[i]) else { throw CorpusError("\(labelsURL.path):\(i + 1): label `\(labels[i])` is not 0 or 1") }
                return ZeroShotDoc(prompt: "Question: \(try r.string("goal"))\nAnswer:",
                                   choices: [try r.string("sol1"), try r.string("sol2")], gold: gold)
            }
        case .hellaswag:
            return try rows.map { r in
                let ctx = try r.string("ctx_a") + " " + pythonCapitalize(try r.string("ctx_b"))
                let endings = try r.strings("endings")
                return ZeroShotDoc(prompt: hellaswagPreprocess(try r.string("activity_label") + ": " + ctx),
                                   choices: endings.map(hellaswagPreprocess), gold: try r.int("label"))
            }
        case .winogrande:
            return try rows.map { r in
                let sentence = try r.string("sentence")
                guard let blank = sentence.firstIndex(of: "_") else { throw r.error("sentence", "has no `_` blank") }
                let options = [try r.string("option1"), try r.string("option2")]
                let contexts = options.map { String(sentence[..<blank]) + $0 }
                let target = String(sentence[sentence.index(after: blank)...]).pythonStripped
                let answer = try r.string("answer")
                guard answer == "1" || answer == "2" else { throw r.error("answer", "is `\(answer)`, not \"1\" or \"2\"") }
                return ZeroShotDoc(contexts: contexts, continuations: [" " + target, " " + target], choices: contexts,
                                   gold: answer == "1" ? 0 : 1)
            }
        case .arc_easy, .arc_challenge, .openbookqa:
            return try rows.map { r in
                let q = try r.object("question")
                let choices = try q.objects("choices")
                let texts = try choices.map { try $0.string("text") }
                let labels = try choices.map { try $0.string("label") }
                var key = try r.string("answerKey")
                if self == .openbookqa { key = String(key.drop { $0 == " " || $0 == "\t" || $0 == "\n" }) }
                guard let gold = labels.firstIndex(of: key) else { throw r.error("answerKey", "`\(key)` is not one of the labels \(labels)") }
                let stem = try q.string("stem")
                return ZeroShotDoc(prompt: self == .openbookqa ? stem : "Question: \(stem)\nAnswer:", choices: texts, gold: gold)
            }
        case .boolq:
            return try rows.map { r in
                let label: Int
                switch r.value["label"] {
                case let b as Bool: label = b ? 1 : 0
                case let s as String where s == "true" || s == "false": label = s == "true" ? 1 : 0
                case let n as NSNumber: label = n.intValue
                default: throw r.error("label", "is not true/false")
                }
                return ZeroShotDoc(prompt: "\(try r.string("passage"))\nQuestion: \(try r.string("question"))?\nAnswer:",
                                   choices: ["no", "yes"], gold: label)
            }
        }
    }

    // MARK: - JSON lines with errors naming file:line and field

    struct Row {
        let value: [String: Any]
        let file: String
        let line: Int

        func error(_ field: String, _ what: String) -> CorpusError { CorpusError("\(file):\(line): field `\(field)` \(what)") }
        func string(_ k: String) throws -> String {
            guard let s = value[k] as? String else { throw error(k, value[k] == nil ? "is missing" : "is not a string") }
            return s
        }
        func int(_ k: String) throws -> Int {
            if let s = value[k] as? String, let i = Int(s) { return i }
            if let n = value[k] as? NSNumber { return n.intValue }
            throw error(k, value[k] == nil ? "is missing" : "is not an integer")
        }
        func strings(_ k: String) throws -> [String] {
            guard let a = value[k] as? [Any], let s = a as? [String] else { throw error(k, value[k] == nil ? "is missing" : "is not a list of strings") }
            return s
        }
        func object(_ k: String) throws -> Row {
            guard let o = value[k] as? [String: Any] else { throw error(k, value[k] == nil ? "is missing" : "is not an object") }
            return Row(value: o, file: file, line: line)
        }
        func objects(_ k: String) throws -> [Row] {
            guard let a = value[k] as? [[String: Any]] else { throw error(k, value[k] == nil ? "is missing" : "is not a list of objects") }
            return a.map { Row(value: $0, file: file, line: line) }
        }
    }

    static func jsonRows(_ url: URL) throws -> [Row] {
        let text = try TextCorpus.readText(url)
        var rows: [Row] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty { continue }
            let obj: Any
            do { obj = try JSONSerialization.jsonObject(with: Data(t.utf8)) } catch {
                throw CorpusError("\(url.path):\(i + 1): not valid JSON")
            }
            guard let o = obj as? [String: Any] else { throw CorpusError("\(url.path):\(i + 1): not a JSON object") }
            rows.append(Row(value: o, file: url.path, line: i + 1))
        }
        return rows
    }
}

// MARK: - Python string behaviours the templates rely on

/// Python's str.capitalize(): the first character upper-cased, the rest lower-cased.
public func pythonCapitalize(_ s: String) -> String {
    guard let first = s.first else { return s }
    return String(first).uppercased() + s.dropFirst().lowercased()
}

/// lm-eval's hellaswag preprocess: strip; " [title]" → ". "; drop "[...]" spans (no
/// newline inside, shortest match, as re.sub("\\[.*?\\]", "")); then "  " → " " once.
public func hellaswagPreprocess(_ text: String) -> String {
    var t = text.pythonStripped.replacingOccurrences(of: " [title]", with: ". ")
    var out = String.UnicodeScalarView()
    let scalars = Array(t.unicodeScalars)
    var i = 0
    while i < scalars.count {
        if scalars[i] == "[" {
            var j = i + 1
            while j < scalars.count && scalars[j] != "]" && scalars[j] != "\n" { j += 1 }
            if j < scalars.count && scalars[j] == "]" { i = j + 1; continue }
        }
        out.append(scalars[i])
        i += 1
    }
    t = String(out)
    return t.replacingOccurrences(of: "  ", with: " ")
}

extension StringProtocol {
    /// Python's str.strip() with no argument: Unicode whitespace off both ends.
    public var pythonStripped: String {
        let scalars = Array(unicodeScalars)
        var a = 0, b = scalars.count
        while a < b && isPythonSpace(scalars[a]) { a += 1 }
        while b > a && isPythonSpace(scalars[b - 1]) { b -= 1 }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars[a..<b])
        return String(v)
    }

    /// The number of trailing whitespace characters (len(s) − len(s.rstrip())), in Unicode
    /// scalars, which is what Python's len counts.
    public var pythonTrailingWhitespace: Int {
        var n = 0
        for s in unicodeScalars.reversed() { if isPythonSpace(s) { n += 1 } else { break } }
        return n
    }

    /// len(s) in Python: Unicode code points.
    public var pythonLength: Int { unicodeScalars.count }
}

/// str.isspace() for one character: Unicode White_Space plus the ASCII separators
/// U+001C–U+001F that Python also counts.
func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
    s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
}
