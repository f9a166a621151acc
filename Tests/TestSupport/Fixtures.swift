// Where the read-only oracles live: ../shared beside the repository (COME_SHARED overrides).
import Foundation

public enum Fixtures {
    public static let repoRoot: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()

    public static let shared: URL = {
        if let s = ProcessInfo.processInfo.environment["COME_SHARED"] { return URL(fileURLWithPath: s) }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    public static func url(_ relative: String) -> URL { shared.appendingPathComponent(relative) }
    public static var fixtures: URL { shared.appendingPathComponent("fixtures") }
    public static func model(_ name: String) -> URL { fixtures.appendingPathComponent("models/\(name)") }

    /// The default model placed by scripts/setup, if present.
    public static var defaultModel: URL? {
        let u = repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    /// A fresh temporary folder (tests write only there).
    public static func temporaryDirectory(_ tag: String = "come-test") throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}
