// Evaluation and calibration text on disk: WikiText raw files (rows as the HF loader
// yields them, reference-algorithms.md §2.2), C4-style JSON lines (.gz too) and plain
// text files; data sets by name resolve under ../shared/data or a --data-dir.
import CZlib
import Foundation

public struct CorpusError: Error, CustomStringConvertible {
    public let message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

public enum TextCorpus {
    /// Rows of a WikiText raw file: one per line keeping its "\n", except that a line of
    /// only white space (the files' blank " \n" lines) becomes the empty row "".
    public static func wikitextRows(_ url: URL) throws -> [String] {
        let text = try readText(url)
        var rows: [String] = []
        var start = text.startIndex
        while start < text.endIndex {
            let nl = text[start...].firstIndex(of: "\n")
            let end = nl.map { text.index(after: $0) } ?? text.endIndex
            let line = String(text[start..<end])
            rows.append(line.allSatisfy { $0.isWhitespace } ? "" : line)
            start = end
        }
        return rows
    }

    /// The perplexity text of WikiText-2: all rows joined with "\n\n".
    public static func wikitextEvaluationText(_ url: URL) throws -> String {
        try wikitextRows(url).joined(separator: "\n\n")
    }

    /// The `field` of every JSON line (plain or gzip-compressed), at most `limit` of them.
    public static func jsonLines(_ url: URL, field: String = "text", limit: Int? = nil) throws -> [String] {
        let text = try readText(url)
        var out: [String] = []
        var lineNo = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            if let l = limit, out.count >= l { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw CorpusError("\(url.path):\(lineNo): not a JSON object")
            }
            guard let s = obj[field] as? String else {
                throw CorpusError("\(url.path):\(lineNo): no string field `\(field)`")
            }
            out.append(s)
        }
        return out
    }

    /// The whole file as UTF-8 text, gunzipped when it ends in .gz.
    public static func readText(_ url: URL) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else { throw CorpusError("\(url.path): no such file") }
        if url.pathExtension == "gz" {
            let bytes = try gunzip(url)
            return String(decoding: bytes, as: UTF8.self)
        }
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw CorpusError("\(url.path): cannot read as UTF-8 text (\(error.localizedDescription))")
        }
    }

    public static func gunzip(_ url: URL) throws -> [UInt8] {
        guard let f = gzopen(url.path, "rb") else { throw CorpusError("\(url.path): cannot open") }
        defer { gzclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw CorpusError("\(url.path): corrupt gzip data") }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<Int(n)])
        }
        return out
    }
}

/// Where the named data sets live: `--data-dir` if given, else ../shared/data beside the
/// repository (or COME_DATA).
public enum DataLocations {
    public static func dataDirectory(_ override: URL? = nil) -> URL? {
        if let o = override { return o }
        if let e = ProcessInfo.processInfo.environment["COME_DATA"] { return URL(fileURLWithPath: e) }
        var candidates: [URL] = []
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        var u = exe.deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(u.appendingPathComponent("../shared/data").standardized)
            u.deleteLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("../shared/data").standardized)
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("wikitext-2-raw-v1").path) }
    }

    public static func wikitext2(split: String = "test", dataDir: URL? = nil) throws -> URL {
        guard let d = dataDirectory(dataDir) else {
            throw CorpusError("wiki2: no data directory found (looked for ../shared/data); pass --data-dir DIR holding wikitext-2-raw-v1/")
        }
        let u = d.appendingPathComponent("wikitext-2-raw-v1/wiki.\(split).raw")
        guard FileManager.default.fileExists(atPath: u.path) else { throw CorpusError("wiki2: \(u.path) does not exist") }
        return u
    }

    public static func c4(dataDir: URL? = nil) throws -> (url: URL, canonical: Bool) {
        guard let d = dataDirectory(dataDir) else { throw CorpusError("c4: no data directory found; pass --data-dir DIR holding c4/") }
        let canonical = d.appendingPathComponent("c4/c4-validation.00000-of-00008.json.gz")
        if FileManager.default.fileExists(atPath: canonical.path) { return (canonical, true) }
        for name in ["en/c4-validation.00000-of-00008.json.gz", "c4/c4-sample.00000-of-00001.json.gz", "c4/c4_demo.jsonl"] {
            let u = d.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: u.path) { return (u, name.contains("validation")) }
        }
        throw CorpusError("c4: no C4 file under \(d.path)/c4")
    }
}
