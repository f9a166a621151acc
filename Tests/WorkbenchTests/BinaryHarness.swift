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
    static func run(_ args: [String], in dir: URL, stdin: String? = nil, timeout: Double = 900) throws -> Result {
        var env = ProcessInfo.processInfo.environment
        env["COME_THREADS"] = "1"
        // Piped stdin (empty unless given), as a script host reading from a pipe would see it.
        let r = try Subprocess.run(path, args, in: dir, environment: env, stdin: stdin ?? "", timeout: timeout)
        if r.timedOut { throw TimedOut(args: args, seconds: timeout) }
        return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    struct TimedOut: Error, CustomStringConvertible {
        var args: [String]
        var seconds: Double
        var description: String { "come \(args.joined(separator: " ")) did not finish in \(Int(seconds)) s and was killed" }
    }

    static func logs(in dir: URL) -> [URL] {
        let d = dir.appendingPathComponent(".come/sessions")
        return ((try? FileManager.default.contentsOfDirectory(at: d, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
    }
}
