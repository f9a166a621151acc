// The language reference agrees with the code: the builtins section of
// tutorials/reference/language.md is exactly what the builtin table generates (each
// builtin's help text), and the error table lists every stable id. Run with
// COME_UPDATE_DOCS=1 to rewrite those sections after changing a builtin.

import Foundation
import Testing
@testable import Script

private let reference = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("tutorials/reference/language.md")

/// The text between `<!-- name:begin -->` and `<!-- name:end -->`.
private func section(_ name: String, in text: String) -> Range<String.Index>? {
    guard let a = text.range(of: "<!-- \(name):begin -->\n"), let b = text.range(of: "<!-- \(name):end -->", range: a.upperBound..<text.endIndex) else {
        return nil
    }
    return a.upperBound..<b.lowerBound
}

/// Tests run in parallel; rewriting the file must not interleave.
private let rewriting = NSLock()

private func check(_ name: String, generated: String) throws {
    rewriting.lock()
    defer { rewriting.unlock() }
    var text = try String(contentsOf: reference, encoding: .utf8)
    let range = try #require(section(name, in: text), "language.md has no \(name) section")
    if ProcessInfo.processInfo.environment["COME_UPDATE_DOCS"] == "1" {
        text.replaceSubrange(range, with: generated)
        try text.write(to: reference, atomically: true, encoding: .utf8)
        return
    }
    #expect(String(text[range]) == generated, "the \(name) section of language.md is stale; run the tests with COME_UPDATE_DOCS=1")
}

@Suite("Language reference")
struct DocsTests {
    @Test func builtinsSectionIsGenerated() throws {
        try check("builtins", generated: Builtins.general().markdownReference())
    }

    @Test func everyBuiltinHelpTextIsInTheReference() throws {
        let text = try String(contentsOf: reference, encoding: .utf8)
        for spec in Builtins.general().all {
            #expect(text.contains("### `\(spec.name)`\n\n```text\n\(spec.helpText)\n```"), "\(spec.name) is missing from language.md")
        }
    }

    @Test func errorsSectionListsEveryId() throws {
        let rows = ErrorID.all.map { "| `\($0.id)` | \($0.summary.replacingOccurrences(of: "|", with: "\\|")) |" }
        try check("errors", generated: (["| id | meaning |", "| --- | --- |"] + rows).joined(separator: "\n") + "\n")
        let ids = ErrorID.all.map(\.id)
        #expect(Set(ids).count == ids.count, "an error id is used twice")
    }
}
