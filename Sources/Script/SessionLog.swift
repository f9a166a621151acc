// The session log: JSON Lines, a header then one record per top-level statement. Each
// record is one `write` of one line, then `fsync`, before the next statement runs; the
// reader tolerates a torn last line and refuses damage elsewhere (Redis's append-only file).

import Foundation

public struct SessionLogHeader: Equatable {
    public static let formatVersion = 1

    public var program: String
    public var version: String
    public var gitRevision: String
    public var os: String
    public var blas: String
    public var threads: Int
    /// The session seed, as the host states it.
    public var seed: String
    /// UTC start time, ISO 8601.
    public var started: String
    public var extra: [String: String]

    public init(program: String = "come", version: String, gitRevision: String, os: String, blas: String,
                threads: Int, seed: String, started: String = isoTimestamp(Date()), extra: [String: String] = [:]) {
        self.program = program; self.version = version; self.gitRevision = gitRevision; self.os = os
        self.blas = blas; self.threads = threads; self.seed = seed; self.started = started; self.extra = extra
    }

    var json: JSON {
        .object([("kind", .string("header")), ("format", .int(Self.formatVersion)), ("program", .string(program)),
                 ("version", .string(version)), ("git", .string(gitRevision)), ("os", .string(os)),
                 ("blas", .string(blas)), ("threads", .int(threads)), ("seed", .string(seed)),
                 ("started", .string(started)),
                 ("extra", .object(extra.map { ($0.key, JSON.string($0.value)) }))])
    }

    init(json j: JSON) throws {
        guard j["kind"]?.string == "header" else { throw LogDecodeError("not a header record") }
        guard let format = j["format"]?.int, format <= Self.formatVersion else {
            throw LogDecodeError("unsupported log format \(j["format"].map { (try? $0.serialized()) ?? "?" } ?? "(none)")")
        }
        var extra: [String: String] = [:]
        if case .object(let fields)? = j["extra"] { for (k, v) in fields { extra[k] = v.string ?? "" } }
        self.init(program: try field(j, "program"), version: try field(j, "version"), gitRevision: try field(j, "git"),
                  os: try field(j, "os"), blas: try field(j, "blas"),
                  threads: try j["threads"]?.int ?? { throw LogDecodeError("missing `threads`") }(),
                  seed: try field(j, "seed"), started: try field(j, "started"), extra: extra)
    }
}

/// One builtin call of a statement.
public struct CallRecord: Equatable {
    public var name: String
    /// Every parameter after defaults were applied, resolved values substituted.
    public var arguments: [String: JSON]
    /// Fingerprints of the host objects the call read and wrote.
    public var reads: [String]
    public var writes: [String]
    /// Parameters whose logged value the builtin resolved (a drawn seed).
    public var resolved: [String]
    /// Named scalar results the builtin recorded.
    public var results: [String: JSON]
    /// Measurements of the machine (timings): logged as history, not compared on replay.
    public var measured: [String: JSON]
    /// The returned value when it is a scalar or a small list.
    public var result: JSON?

    public init(name: String, arguments: [String: JSON] = [:], reads: [String] = [], writes: [String] = [],
                resolved: [String] = [], results: [String: JSON] = [:], measured: [String: JSON] = [:], result: JSON? = nil) {
        self.name = name; self.arguments = arguments; self.reads = reads; self.writes = writes
        self.resolved = resolved; self.results = results; self.measured = measured; self.result = result
    }

    var json: JSON {
        var fields: [(String, JSON)] = [("name", .string(name)), ("args", .object(arguments.map { ($0.key, $0.value) })),
                                        ("reads", .array(reads.map(JSON.string))), ("writes", .array(writes.map(JSON.string)))]
        if !resolved.isEmpty { fields.append(("resolved", .array(resolved.map(JSON.string)))) }
        if !results.isEmpty { fields.append(("results", .object(results.map { ($0.key, $0.value) }))) }
        if !measured.isEmpty { fields.append(("measured", .object(measured.map { ($0.key, $0.value) }))) }
        if let result { fields.append(("result", result)) }
        return .object(fields)
    }

    init(json j: JSON) throws {
        func object(_ key: String) -> [String: JSON] {
            guard case .object(let f)? = j[key] else { return [:] }
            return Dictionary(f, uniquingKeysWith: { $1 })
        }
        func strings(_ key: String) -> [String] { j[key]?.array?.compactMap(\.string) ?? [] }
        self.init(name: try field(j, "name"), arguments: object("args"), reads: strings("reads"),
                  writes: strings("writes"), resolved: strings("resolved"), results: object("results"),
                  measured: object("measured"), result: j["result"])
    }
}

/// One top-level statement.
public struct StatementRecord: Equatable {
    public var sequence: Int
    /// UTC, ISO 8601 with milliseconds.
    public var start: String
    public var elapsed: Double
    public var status: StatementStatus
    public var file: String
    public var source: String
    public var calls: [CallRecord]
    /// Calls past the per-statement limit, counted but not listed.
    public var omittedCalls: Int
    /// `E0301: undefined variable `x``, for a statement that failed.
    public var error: String?

    public init(sequence: Int, start: String, elapsed: Double, status: StatementStatus, file: String, source: String,
                calls: [CallRecord] = [], omittedCalls: Int = 0, error: String? = nil) {
        self.sequence = sequence; self.start = start; self.elapsed = elapsed; self.status = status; self.file = file
        self.source = source; self.calls = calls; self.omittedCalls = omittedCalls; self.error = error
    }

    var json: JSON {
        var fields: [(String, JSON)] = [
            ("kind", .string("statement")), ("seq", .int(sequence)), ("start", .string(start)),
            ("elapsed", .double(elapsed)), ("status", .string(status.rawValue)), ("file", .string(file)),
            ("source", .string(source)), ("calls", .array(calls.map(\.json))),
        ]
        if omittedCalls > 0 { fields.append(("omitted_calls", .int(omittedCalls))) }
        if let error { fields.append(("error", .string(error))) }
        return .object(fields)
    }

    init(json j: JSON) throws {
        guard j["kind"]?.string == "statement" else { throw LogDecodeError("not a statement record") }
        guard let seq = j["seq"]?.int else { throw LogDecodeError("missing `seq`") }
        guard let elapsed = j["elapsed"]?.double else { throw LogDecodeError("missing `elapsed`") }
        guard let status = j["status"]?.string.flatMap(StatementStatus.init(rawValue:)) else {
            throw LogDecodeError("missing or unknown `status`")
        }
        guard let calls = j["calls"]?.array else { throw LogDecodeError("missing `calls`") }
        self.init(sequence: seq, start: try field(j, "start"), elapsed: elapsed, status: status,
                  file: try field(j, "file"), source: try field(j, "source"), calls: try calls.map(CallRecord.init(json:)),
                  omittedCalls: j["omitted_calls"]?.int ?? 0, error: j["error"]?.string)
    }
}

struct LogDecodeError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

private func field(_ j: JSON, _ key: String) throws -> String {
    guard let s = j[key]?.string else { throw LogDecodeError("missing `\(key)`") }
    return s
}

public enum SessionLogError: Error, CustomStringConvertible, Equatable {
    case io(String)
    /// A line other than the last cannot be read; the log is refused.
    case damaged(line: Int, reason: String)
    case empty

    public var description: String {
        switch self {
        case .io(let m): return m
        case .damaged(let line, let reason): return "session log damaged at line \(line): \(reason)"
        case .empty: return "session log is empty"
        }
    }
}

// MARK: Writing

/// Where the writer's bytes go: a file descriptor in practice, a recorder in tests.
public protocol LogFile: AnyObject {
    /// Writes all of `bytes` (one `write(2)` unless the kernel takes fewer).
    func write(_ bytes: [UInt8]) throws
    /// Flushes to stable storage (`fsync`).
    func synchronize() throws
}

public final class DescriptorLogFile: LogFile {
    private let fd: Int32
    public let path: String

    /// Opens `path` for appending; creates it, refusing an existing file unless `overwrite`.
    public init(path: String, overwrite: Bool = false) throws {
        self.path = path
        let flags = O_WRONLY | O_CREAT | O_APPEND | (overwrite ? O_TRUNC : O_EXCL)
        fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw SessionLogError.io("cannot create session log \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SessionLogError.io("cannot write session log \(path): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    public func synchronize() throws {
        guard fsync(fd) == 0 else { throw SessionLogError.io("cannot fsync session log \(path): \(String(cString: strerror(errno)))") }
    }
}

public final class SessionLogWriter {
    private let file: LogFile
    public let header: SessionLogHeader
    public private(set) var recordsWritten = 0

    /// Writes the header line (and syncs it).
    public init(file: LogFile, header: SessionLogHeader) throws {
        self.file = file
        self.header = header
        try writeLine(header.json)
    }

    public static func create(path: String, header: SessionLogHeader, overwrite: Bool = false) throws -> SessionLogWriter {
        try SessionLogWriter(file: DescriptorLogFile(path: path, overwrite: overwrite), header: header)
    }

    /// One write of the record's line, then fsync; returns once it is on disk.
    public func append(_ record: StatementRecord) throws {
        try writeLine(record.json)
        recordsWritten += 1
    }

    private func writeLine(_ json: JSON) throws {
        let line = try json.serialized(sortKeys: true) + "\n"
        try file.write(Array(line.utf8))
        try file.synchronize()
    }
}

// MARK: Reading

public struct SessionLogContents {
    public var header: SessionLogHeader
    public var records: [StatementRecord]
    /// The last line, when it was cut off mid-write: its line number and length in bytes.
    public var truncatedTail: (line: Int, bytes: Int)?
}

public enum SessionLogReader {
    public static func read(path: String) throws -> SessionLogContents {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SessionLogError.io("cannot read session log \(path)")
        }
        return try read(bytes: [UInt8](data))
    }

    public static func read(bytes: [UInt8]) throws -> SessionLogContents {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        // A log that ends with a newline splits into a final empty piece; an unterminated
        // final piece is the one line that may be torn.
        let lastIsTerminated = lines.last?.isEmpty ?? true
        if lastIsTerminated { lines.removeLast() }
        guard !lines.isEmpty else { throw SessionLogError.empty }
        var header: SessionLogHeader?
        var records: [StatementRecord] = []
        var tail: (line: Int, bytes: Int)?
        for (k, slice) in lines.enumerated() {
            let number = k + 1
            let isTorn = k == lines.count - 1 && !lastIsTerminated
            do {
                let json = try JSON.parse(Array(slice))
                if number == 1 {
                    header = try SessionLogHeader(json: json)
                    continue
                }
                let record = try StatementRecord(json: json)
                let expected = (records.last?.sequence ?? 0) + 1
                guard record.sequence == expected else {
                    throw LogDecodeError("sequence number \(record.sequence) where \(expected) was expected")
                }
                records.append(record)
            } catch {
                let reason: String
                switch error {
                case let e as LogDecodeError: reason = e.reason
                case let e as JSON.ParseError: reason = "invalid JSON (\(e))"
                default: reason = "\(error)"
                }
                // A line cut off mid-write is not valid JSON; one that parses was written whole.
                if isTorn && number > 1 && (try? JSON.parse(Array(slice))) == nil {
                    tail = (number, slice.count)
                    continue
                }
                throw SessionLogError.damaged(line: number, reason: number == 1 ? "no session log header (\(reason))" : reason)
            }
        }
        return SessionLogContents(header: header!, records: records, truncatedTail: tail)
    }
}

/// `2025-01-02T03:04:05.678Z`
public func isoTimestamp(_ date: Date) -> String {
    let t = date.timeIntervalSince1970
    var seconds = time_t(floor(t))
    let millis = Int((t - floor(t)) * 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ v: Int32, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
        + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
}

// MARK: Collecting a statement's facts

/// The calls of the statement being run, filled as builtins are called.
final class StatementFacts {
    /// A loop can call a logged builtin many times; past this many, calls are only counted.
    static let maxCalls = 1000
    /// Lists up to this long are logged as results.
    static let maxResultItems = 64

    private(set) var calls: [CallRecord] = []
    private(set) var omitted = 0

    /// Starts a call's record; nil when over the limit.
    func begin(_ name: String, _ arguments: BoundArguments) -> Int? {
        guard calls.count < Self.maxCalls else { omitted += 1; return nil }
        var record = CallRecord(name: name)
        for (n, v) in arguments.resolved {
            record.arguments[n] = v.logJSON
            let hosts: [Value] = v.elements.map { $0 } ?? [v]
            for case .host(let h) in hosts { if let fp = h.fingerprint, !record.reads.contains(fp) { record.reads.append(fp) } }
        }
        calls.append(record)
        return calls.count - 1
    }

    func finish(_ index: Int?, result: Value) {
        guard let index else { return }
        if case .host(let h) = result {
            if let fp = h.fingerprint, !calls[index].writes.contains(fp) { calls[index].writes.append(fp) }
            calls[index].result = result.logJSON
        } else {
            calls[index].result = Self.smallJSON(result)
        }
    }

    func addRead(_ fingerprint: String, to index: Int?) {
        guard let index, !calls[index].reads.contains(fingerprint) else { return }
        calls[index].reads.append(fingerprint)
    }

    func addWritten(_ fingerprint: String, to index: Int?) {
        guard let index, !calls[index].writes.contains(fingerprint) else { return }
        calls[index].writes.append(fingerprint)
    }

    func resolve(_ parameter: String, _ value: Value, in index: Int?) {
        guard let index else { return }
        calls[index].arguments[parameter] = value.logJSON
        if !calls[index].resolved.contains(parameter) { calls[index].resolved.append(parameter) }
    }

    func addResult(_ name: String, _ value: Value, to index: Int?) {
        guard let index else { return }
        calls[index].results[name] = value.logJSON
    }

    func addMeasurement(_ name: String, _ value: Value, to index: Int?) {
        guard let index else { return }
        calls[index].measured[name] = value.logJSON
    }

    /// Scalars, and lists or records of at most `maxResultItems` scalars; nil otherwise.
    static func smallJSON(_ v: Value) -> JSON? {
        switch v {
        case .none, .bool, .int, .float, .string: return v.logJSON
        case .list(let xs):
            guard xs.count <= maxResultItems else { return nil }
            var items: [JSON] = []
            for x in xs { guard let j = smallJSON(x), x.elements == nil else { return nil }; items.append(j) }
            return .array(items)
        case .record(let r):
            guard r.count <= maxResultItems else { return nil }
            var fields: [(String, JSON)] = []
            for (k, x) in r.fields { guard let j = smallJSON(x), x.elements == nil else { return nil }; fields.append((k, j)) }
            return .object(fields)
        default: return nil
        }
    }
}
