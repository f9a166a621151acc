// The one runner for the annotated language tests, Tests/Scripts/**/*.come: each file runs
// in a fresh session with captured output, and its annotations say what must come out.
//
//   # expect: TEXT        the next line of output (what `print`/`show` wrote and the values of
//                         top-level expression statements, in order). Every output line must
//                         be expected, in order, and no other line may appear. `# expect:`
//                         alone expects an empty line.
//   # expect error: TEXT  a line of the rendered (plain) error. The run must fail; the lines
//                         given must all appear in the rendering, in this order (a subsequence,
//                         so a test may give only the first line, or it and the caret line).
//                         Lines are compared exactly, trailing spaces ignored.
//   # args: WORDS         script arguments, split at spaces; `$TMP` becomes a fresh folder.
//   # keep-going          run on after a failed statement (errors of all statements count).
//
// TEXT is everything after the annotation's colon and one space. An annotation may follow
// code on the same line (`print(1)  # expect: 1`). A file whose name starts with `_` is a
// library for `use` and is not run by itself. The file name a diagnostic shows is the path
// relative to Tests/Scripts (`errors/undefined_variable.come`).

import Foundation
import Testing
@testable import Script

struct ScriptCase: Sendable, CustomTestStringConvertible {
    let relativePath: String
    var testDescription: String { relativePath }

    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts").resolvingSymlinksInPath()

    static let all: [ScriptCase] = {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return walker.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".come") && !($0 as NSString).lastPathComponent.hasPrefix("_") }
            .sorted()
            .map(ScriptCase.init(relativePath:))
    }()
}

struct Annotations {
    var output: [String] = []
    var errors: [String] = []
    var args: [String] = []
    var keepGoing = false

    init(_ text: String, temporary: () -> String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let rest = Annotations.after("# expect error:", in: line) {
                errors.append(rest)
            } else if let rest = Annotations.after("# expect:", in: line) {
                output.append(rest)
            } else if let rest = Annotations.after("# args:", in: line) {
                args = rest.split(separator: " ").map { $0 == "$TMP" ? temporary() : String($0) }
            } else if line.contains("# keep-going") {
                keepGoing = true
            }
        }
    }

    private static func after(_ key: String, in line: Substring) -> String? {
        guard let r = line.range(of: key) else { return nil }
        var rest = line[r.upperBound...]
        if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        return String(rest)
    }
}

func trimmedTrailing(_ s: some StringProtocol) -> String {
    var t = String(s)
    while let last = t.last, last == " " || last == "\t" { t.removeLast() }
    return t
}

/// Runs `body` on a thread with a large stack: deeply nested scripts recurse deeply.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
    init() {}
}

func onLargeStack<T>(_ body: @escaping () -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.value = body()
        done.signal()
    }
    thread.stackSize = 64 << 20
    thread.start()
    done.wait()
    return box.value!
}

struct ScriptOutcome {
    var output: [String]
    var errorLines: [String]
    var failed: Bool
}

func runScript(_ c: ScriptCase, _ notes: Annotations) -> ScriptOutcome {
    let path = ScriptCase.root.appendingPathComponent(c.relativePath).path
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    let captured = CapturedOutput()
    let session = Session(output: captured, baseDirectory: ScriptCase.root.path)
    session.scriptArguments = notes.args
    session.keepGoing = notes.keepGoing
    let result = onLargeStack { session.run(source: text, file: c.relativePath, path: path) }
    var out = captured.text.split(separator: "\n", omittingEmptySubsequences: false).map(trimmedTrailing)
    if out.last == "" { out.removeLast() }
    let errorLines = result.diagnostics.flatMap { $0.rendered.split(separator: "\n", omittingEmptySubsequences: false).map(trimmedTrailing) }
    return ScriptOutcome(output: out, errorLines: errorLines, failed: result.status != .ok)
}

@Suite("Annotated scripts")
struct ScriptRunnerTests {
    @Test("there are at least 150 script cases in every folder")
    func enoughCases() {
        #expect(ScriptCase.all.count >= 150)
        let folders = Set(ScriptCase.all.map { $0.relativePath.split(separator: "/").first.map(String.init) ?? "" })
        for f in ["statements", "operators", "builtins", "errors", "use", "args", "display"] {
            #expect(folders.contains(f), "no scripts under \(f)/")
        }
    }

    @Test(arguments: ScriptCase.all)
    func script(_ c: ScriptCase) throws {
        let path = ScriptCase.root.appendingPathComponent(c.relativePath).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var temporaries: [URL] = []
        let notes = Annotations(text) {
            let u = FileManager.default.temporaryDirectory.appendingPathComponent("come-script-\(UUID().uuidString)")
            try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
            temporaries.append(u)
            return u.path
        }
        defer { temporaries.forEach { try? FileManager.default.removeItem(at: $0) } }
        #expect(!notes.output.isEmpty || !notes.errors.isEmpty, "\(c.relativePath) has no `# expect` annotation")
        let outcome = runScript(c, notes)

        #expect(outcome.output == notes.output.map(trimmedTrailing),
                "output differs:\n--- expected\n\(notes.output.joined(separator: "\n"))\n--- got\n\(outcome.output.joined(separator: "\n"))\n--- errors\n\(outcome.errorLines.joined(separator: "\n"))")
        if notes.errors.isEmpty {
            #expect(!outcome.failed, "unexpected error:\n\(outcome.errorLines.joined(separator: "\n"))")
        } else {
            #expect(outcome.failed, "expected an error, the script succeeded")
            var k = 0
            for line in outcome.errorLines where k < notes.errors.count && line == trimmedTrailing(notes.errors[k]) { k += 1 }
            #expect(k == notes.errors.count,
                    "error line not found: \(k < notes.errors.count ? notes.errors[k] : "")\n--- got\n\(outcome.errorLines.joined(separator: "\n"))")
        }
    }
}
