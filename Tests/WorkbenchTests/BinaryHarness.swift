// Runs the built `come` binary (COME_BIN, else .build/debug/come) in a temporary folder.
import Foundation
import TestSupport

enum ComeBinary {
    static var path: String {
        if let p = ProcessInfo.processInfo.environment["COME_BIN"] { return p }
        return Fixtures.repoRoot.appendingPathComponent(".build/debug/come").path
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    @discardableResult
    static func run(_ args: [String], in dir: URL, stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["COME_THREADS"] = "1"
        p.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        if let s = stdin { inp.fileHandleForWriting.write(Data(s.utf8)) }
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func logs(in dir: URL) -> [URL] {
        let d = dir.appendingPathComponent(".come/sessions")
        return ((try? FileManager.default.contentsOfDirectory(at: d, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
    }
}
