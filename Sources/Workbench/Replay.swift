// `come replay LOG`: re-runs a session log's statements in a fresh session and compares,
// record by record, the fingerprints (exactly) and the scalar results (integers and
// strings exactly, floats within a relative tolerance), stopping at the first divergence.
import Foundation
import Script

/// Values a replayed builtin must use instead of drawing them (a logged seed).
public enum ReplayOverrides {
    nonisolated(unsafe) static var pending: [String: [JSON]] = [:]

    static func push(_ callee: String, _ parameter: String, _ value: JSON) {
        pending["\(callee).\(parameter)", default: []].append(value)
    }

    /// The logged value for this builtin's parameter, if a replay supplied one.
    public static func take(_ callee: String, _ parameter: String) -> JSON? {
        let k = "\(callee).\(parameter)"
        guard var q = pending[k], !q.isEmpty else { return nil }
        let v = q.removeFirst()
        pending[k] = q
        return v
    }
}

public struct ReplayOptions {
    public var tolerance = 1e-6
    public var until: Int? = nil
    public var fromScript = false
    public var allowEffects = false
    public var baseDirectory = FileManager.default.currentDirectoryPath
    public init() {}
}

public struct ReplayReport {
    public var replayed: Int
    public var divergence: String?
    public var truncatedTail: String?
    public var ok: Bool { divergence == nil }
}

public enum Replay {
    public static func run(log path: String, options: ReplayOptions, output: OutputSink) throws -> ReplayReport {
        let contents = try SessionLogReader.read(path: path)
        var report = ReplayReport(replayed: 0, divergence: nil, truncatedTail: nil)
        if let t = contents.truncatedTail {
            report.truncatedTail = "line \(t.line) of \(path) was cut off mid-record (\(t.bytes) bytes); replaying the \(contents.records.count) complete records"
        }
        if !options.allowEffects, let why = effectNeedingPermission(contents.records, base: options.baseDirectory) {
            throw ScriptError("\(why); pass --allow-effects to replay it", id: "E0701")
        }
        let session = Session(builtins: Host.builtins(), output: output, baseDirectory: options.baseDirectory)
        session.display = DisplayOptions(terminal: false)
        for old in contents.records {
            if let u = options.until, old.sequence > u { break }
            ReplayOverrides.pending = [:]
            for c in old.calls { for p in c.resolved { if let v = c.arguments[p] { ReplayOverrides.push(c.name, p, v) } } }
            let before = session.records.count
            let r = session.evaluateCell(old.source, file: old.file)
            report.replayed += 1
            let new = session.records[before...]
            if options.fromScript {
                if r.status != .ok { report.divergence = "record \(old.sequence) (\(old.file)): \(old.source)\n  failed on replay: \(r.diagnostics.map { session.render($0) }.joined(separator: "\n"))"; break }
                continue
            }
            if let d = compare(old, Array(new), status: r.status, tolerance: options.tolerance) {
                report.divergence = "record \(old.sequence) (\(old.file), source `\(firstLine(old.source))`): \(d)"
                break
            }
        }
        return report
    }

    static func firstLine(_ s: String) -> String { s.split(separator: "\n").first.map(String.init) ?? s }

    static func compare(_ old: StatementRecord, _ new: [StatementRecord], status: StatementStatus, tolerance: Double) -> String? {
        if status != old.status { return "status: logged \(old.status.rawValue), replay \(status.rawValue)" }
        let calls = new.flatMap(\.calls)
        if calls.count != old.calls.count { return "calls: logged \(old.calls.count), replay \(calls.count)" }
        for (i, (a, b)) in zip(old.calls, calls).enumerated() {
            let at = "call \(i + 1) `\(a.name)`"
            if a.name != b.name { return "\(at): replay called `\(b.name)`" }
            if a.reads != b.reads { return "\(at) field reads: logged \(a.reads), replay \(b.reads)" }
            if a.writes != b.writes { return "\(at) field writes: logged \(a.writes), replay \(b.writes)" }
            for key in Set(a.results.keys).union(b.results.keys).sorted() {
                if let d = differ(a.results[key], b.results[key], tolerance) { return "\(at) field results.\(key): \(d)" }
            }
            if let d = differ(a.result, b.result, tolerance) { return "\(at) field result: \(d)" }
        }
        return nil
    }

    static func differ(_ a: JSON?, _ b: JSON?, _ tol: Double) -> String? {
        func show(_ j: JSON?) -> String { j.map { (try? $0.serialized()) ?? "?" } ?? "(absent)" }
        switch (a, b) {
        case (nil, nil): return nil
        case (.double(let x)?, .double(let y)?):
            let rel = abs(x - y) / max(abs(x), abs(y), 1e-300)
            return x == y || rel <= tol ? nil : "logged \(x), replay \(y) (relative difference \(String(format: "%.3g", rel)) > \(tol))"
        case (.array(let xs)?, .array(let ys)?) where xs.count == ys.count:
            for (x, y) in zip(xs, ys) { if differ(x, y, tol) != nil { return "logged \(show(a)), replay \(show(b))" } }
            return nil
        default:
            return a == b ? nil : "logged \(show(a)), replay \(show(b))"
        }
    }

    /// A reason this log needs --allow-effects: a shell call, or a file written outside the base folder.
    static func effectNeedingPermission(_ records: [StatementRecord], base: String) -> String? {
        let builtins = Host.builtins()
        let root = URL(fileURLWithPath: base).standardized.path
        for r in records {
            for c in r.calls {
                guard let spec = builtins[c.name] else { continue }
                if spec.effects.contains(.shell) { return "record \(r.sequence) runs a shell command (`\(c.name)`)" }
                if spec.effects.contains(.writesFiles) {
                    for (k, v) in c.arguments where k == "path" || k == "out" || k == "dir" {
                        guard case .string(let p) = v else { continue }
                        let full = URL(fileURLWithPath: p.hasPrefix("/") ? p : root + "/" + p).standardized.path
                        if !(full == root || full.hasPrefix(root + "/")) {
                            return "record \(r.sequence) writes \(p), outside the working folder"
                        }
                    }
                }
            }
        }
        return nil
    }

    /// The log's successful statements as a script equal in effect (`come log2script`).
    public static func script(fromLog path: String) throws -> String {
        let c = try SessionLogReader.read(path: path)
        var out = "# from session log \(path) (\(c.header.started))\n"
        for r in c.records where r.status == .ok {
            var src = r.source
            // A seed the builtin drew is written in, so the script repeats the run.
            for call in r.calls {
                for p in call.resolved {
                    if case .int(let v)? = call.arguments[p], let range = src.range(of: "\(call.name)(") {
                        let close = src[range.upperBound...].firstIndex(of: ")").map { src.distance(from: src.startIndex, to: $0) }
                        if let close { src.insert(contentsOf: ", \(p)=\(v)", at: src.index(src.startIndex, offsetBy: close)) }
                    }
                }
            }
            out += src + "\n"
        }
        return out
    }
}
