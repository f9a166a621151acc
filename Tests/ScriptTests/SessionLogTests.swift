// The session log: round trip, a torn last line tolerated and reported, damage elsewhere
// refused with its line number, one write then fsync per record, and the records a session
// fills (resolved arguments, fingerprints read and written, scalar results, status).

import Foundation
import Testing
@testable import Script

/// Records the calls the writer makes, in order.
final class RecordingLogFile: LogFile {
    var events: [String] = []
    var bytes: [UInt8] = []

    func write(_ b: [UInt8]) throws {
        events.append("write")
        bytes += b
    }

    func synchronize() throws { events.append("sync") }
}

private let header = SessionLogHeader(version: "0.1.0", gitRevision: "abc1234", os: "Linux 6.1", blas: "OpenBLAS 0.3.26",
                                      threads: 8, seed: "42", started: "2025-01-02T03:04:05.000Z", extra: ["host": "test"])

private func sampleRecord(_ seq: Int, status: StatementStatus = .ok) -> StatementRecord {
    StatementRecord(sequence: seq, start: "2025-01-02T03:04:0\(seq).000Z", elapsed: 0.25 * Double(seq), status: status,
                    file: "tutorial.come", source: "m2 = merge(m, layers=[3, 4]) # é \"q\"",
                    calls: [CallRecord(name: "merge", arguments: ["m": .object([("$host", .string("model"))]),
                                                                   "layers": .array([.int(3), .int(4)]), "scores": .null],
                                       reads: ["aa" + String(seq)], writes: ["bb"], resolved: [], results: ["ppl": .double(12.5)],
                                       result: .double(1e-05))],
                    omittedCalls: seq == 2 ? 3 : 0, error: status == .error ? "E0301: undefined variable `x`" : nil)
}

private func writeLog(_ records: [StatementRecord]) throws -> (URL, String) {
    let dir = temporaryFolder()
    let path = dir.appendingPathComponent("session.jsonl").path
    let w = try SessionLogWriter.create(path: path, header: header)
    for r in records { try w.append(r) }
    return (dir, path)
}

@Suite("Session log")
struct SessionLogTests {
    @Test func roundTrip() throws {
        let records = [sampleRecord(1), sampleRecord(2, status: .error), sampleRecord(3, status: .interrupted)]
        let (dir, path) = try writeLog(records)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = try SessionLogReader.read(path: path)
        #expect(log.header == header)
        #expect(log.records == records)
        #expect(log.truncatedTail == nil)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 4)
        #expect(text.hasPrefix("{\"blas\":\"OpenBLAS 0.3.26\",\"extra\":{\"host\":\"test\"},\"format\":1,"))
    }

    @Test func linesAreDeterministic() throws {
        let a = try StatementRecordLine(sampleRecord(1)), b = try StatementRecordLine(sampleRecord(1))
        #expect(a == b)
        #expect(a.contains("\"args\":{\"layers\":[3,4],\"m\":{\"$host\":\"model\"},\"scores\":null}"))
    }

    @Test func truncatedLastRecordIsReported() throws {
        let (dir, path) = try writeLog([sampleRecord(1), sampleRecord(2)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let line = try StatementRecordLine(sampleRecord(3))
        let torn = Array(line.utf8.prefix(line.utf8.count / 2))
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data(torn))
        try h.close()
        let log = try SessionLogReader.read(path: path)
        #expect(log.records.map(\.sequence) == [1, 2])
        #expect(log.truncatedTail?.line == 4)
        #expect(log.truncatedTail?.bytes == torn.count)
    }

    @Test func damageInTheMiddleIsRefusedWithItsLine() throws {
        let (dir, path) = try writeLog([sampleRecord(1), sampleRecord(2), sampleRecord(3)])
        defer { try? FileManager.default.removeItem(at: dir) }
        var lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = String(lines[2].dropLast(5))
        try lines.joined(separator: "\n").write(toFile: path, atomically: false, encoding: .utf8)
        #expect {
            try SessionLogReader.read(path: path)
        } throws: { error in
            guard case SessionLogError.damaged(let line, let reason) = error else { return false }
            return line == 3 && reason.hasPrefix("invalid JSON")
        }
    }

    @Test func completeButWrongLastLineIsDamage() throws {
        // A last line that parses was written whole: a bad record there is damage, not a tear.
        var bytes = Array(try StatementRecordLine(header: header).utf8)
        bytes += Array(try StatementRecordLine(sampleRecord(1)).utf8)
        bytes += Array("{\"kind\":\"statement\"}".utf8)
        #expect(throws: SessionLogError.damaged(line: 3, reason: "missing `seq`")) { try SessionLogReader.read(bytes: bytes) }
    }

    @Test func sequenceGapIsDamage() throws {
        var bytes = Array(try StatementRecordLine(header: header).utf8)
        bytes += Array(try StatementRecordLine(sampleRecord(1)).utf8)
        bytes += Array(try StatementRecordLine(sampleRecord(3)).utf8)
        #expect(throws: SessionLogError.damaged(line: 3, reason: "sequence number 3 where 2 was expected")) {
            try SessionLogReader.read(bytes: bytes)
        }
    }

    @Test func headerIsRequired() throws {
        let bytes = Array(try StatementRecordLine(sampleRecord(1)).utf8)
        #expect(throws: SessionLogError.damaged(line: 1, reason: "no session log header (not a header record)")) {
            try SessionLogReader.read(bytes: bytes)
        }
        #expect(throws: SessionLogError.empty) { try SessionLogReader.read(bytes: []) }
    }

    @Test func oneWriteThenSyncPerRecord() throws {
        let file = RecordingLogFile()
        let w = try SessionLogWriter(file: file, header: header)
        try w.append(sampleRecord(1))
        try w.append(sampleRecord(2))
        #expect(file.events == ["write", "sync", "write", "sync", "write", "sync"])
        let text = String(decoding: file.bytes, as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        #expect(text.split(separator: "\n").count == 3)
        #expect(w.recordsWritten == 2)
    }

    @Test func existingLogIsNotOverwritten() throws {
        let (dir, path) = try writeLog([])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: SessionLogError.self) { try SessionLogWriter.create(path: path, header: header) }
        _ = try SessionLogWriter.create(path: path, header: header, overwrite: true)
        #expect(try SessionLogReader.read(path: path).records.isEmpty)
    }

    @Test func sessionFillsRecords() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("log.jsonl").path
        let session = Session(builtins: hostBuiltins(), output: CapturedOutput(), baseDirectory: dir.path)
        session.log = try SessionLogWriter.create(path: path, header: header)
        let result = session.run(source: """
            m = load("tiny.gguf")
            m2 = merge(m, layers=[3, 4])
            p = measure(m2)
            print(p, len([1]))
            q = nope
            """, file: "t.come")
        #expect(result.status == .error)
        let log = try SessionLogReader.read(path: path)
        #expect(log.records.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(log.records.map(\.status) == [.ok, .ok, .ok, .ok, .error])
        #expect(log.records[0].source == "m = load(\"tiny.gguf\")")

        let load = log.records[0].calls[0]
        let model = TestModel(name: "tiny.gguf", layers: 30).fingerprint!
        #expect(load.name == "load")
        #expect(load.arguments == ["path": .string("tiny.gguf"), "seed": .int(1234)])
        #expect(load.resolved == ["seed"])
        #expect(load.writes == [model])
        #expect(load.reads.isEmpty)

        let merge = log.records[1].calls[0]
        let merged = TestModel(name: "tiny.gguf", layers: 29).fingerprint!
        #expect(merge.arguments["layers"] == .array([.int(3), .int(4)]))
        #expect(merge.arguments["scores"] == JSON.null)
        #expect(merge.arguments["m"] == .object([("$host", .string("model")), ("fingerprint", .string(model))]))
        #expect(merge.reads == [model])
        #expect(merge.writes == [merged])

        let measure = log.records[2].calls[0]
        #expect(measure.arguments["nsamples"] == .int(16))
        #expect(measure.results == ["ppl": .double(11.0)])
        #expect(measure.result == .double(11.0))

        #expect(log.records[3].calls.isEmpty)
        #expect(log.records[4].error == "E0301: undefined variable `nope`")
        #expect(session.records == log.records)
    }

    @Test func recordIsOnDiskBeforeTheNextStatementRuns() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("log.jsonl").path
        let b = Builtins.general()
        b.register(BuiltinSpec("log_lines", returns: .int, help: "Lines in the log so far.") { _, _ in
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return .int(text.split(separator: "\n").count)
        })
        let session = Session(builtins: b, output: CapturedOutput(), baseDirectory: dir.path)
        session.log = try SessionLogWriter.create(path: path, header: header)
        _ = session.evaluateCell("a = 1")
        _ = session.evaluateCell("b = 2")
        #expect(session.evaluateCell("log_lines()").value == .int(3))
    }

    @Test func manyCallsAreCounted() throws {
        let session = Session(builtins: hostBuiltins(), output: CapturedOutput())
        _ = session.evaluateCell("m = load(\"x\")")
        _ = session.evaluateCell("for i in range(1005) { p = measure(m) }")
        let r = try #require(session.records.last)
        #expect(r.calls.count == StatementFacts.maxCalls)
        #expect(r.omittedCalls == 5)
    }

    @Test func jsonValues() throws {
        #expect(try JSON.parse("\"\\ud83d\\ude00 \\u00e9\"") == .string("😀 é"))
        #expect(try JSON.parse("[1, 1.0, -0.5e2, true, null]") == .array([.int(1), .double(1), .double(-50), .bool(true), .null]))
        #expect(try JSON.object([("b", .int(1)), ("a", .string("x\n"))]).serialized(sortKeys: true) == "{\"a\":\"x\\n\",\"b\":1}")
        for bad in ["", "[1,", "{\"a\" 1}", "01", "\"\\x\"", "[1] 2", "tru"] {
            #expect(throws: JSON.ParseError.self) { try JSON.parse(bad) }
        }
        #expect(throws: JSON.WriteError.self) { try JSON.double(.nan).serialized() }
    }
}

/// One record's line as the writer produces it.
private func StatementRecordLine(_ r: StatementRecord) throws -> String {
    let file = RecordingLogFile()
    let w = try SessionLogWriter(file: file, header: header)
    file.bytes = []
    try w.append(r)
    return String(decoding: file.bytes, as: UTF8.self)
}

private func StatementRecordLine(header h: SessionLogHeader) throws -> String {
    let file = RecordingLogFile()
    _ = try SessionLogWriter(file: file, header: h)
    return String(decoding: file.bytes, as: UTF8.self)
}
