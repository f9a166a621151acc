// tutorials/reference/engine.md's builtin section is the help text the engine builtins
// declare; this test fails when they drift (COME_UPDATE_DOCS=1 rewrites the section).
import Foundation
import Script
import TestSupport
import Testing
import Workbench

@Test func engineBuiltinsAreDocumented() throws {
    let url = Fixtures.repoRoot.appendingPathComponent("tutorials/reference/engine.md")
    var doc = try String(contentsOf: url, encoding: .utf8)
    let begin = "<!-- engine builtins: generated -->\n", end = "<!-- end engine builtins -->"
    let generated = Host.builtins().markdownReference(category: "engine")
    if ProcessInfo.processInfo.environment["COME_UPDATE_DOCS"] == "1" {
        if let a = doc.range(of: begin), let b = doc.range(of: end) {
            doc.replaceSubrange(a.upperBound..<b.lowerBound, with: generated)
        } else {
            doc += "\n## Engine builtins\n\n" + begin + generated + end + "\n"
        }
        try doc.write(to: url, atomically: true, encoding: .utf8)
    }
    let a = try #require(doc.range(of: begin)), b = try #require(doc.range(of: end))
    #expect(String(doc[a.upperBound..<b.lowerBound]) == generated)
    for name in ["load", "info", "tokenize", "detokenize", "generate", "corpus", "perplexity", "save"] {
        #expect(generated.contains("### `\(name)`"))
    }
}
