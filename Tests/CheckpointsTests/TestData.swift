// Helpers shared by the checkpoint tests: where the committed test data lies (beside this
// file, found through #filePath so no resource bundling is needed), bit-level comparison
// and error-text expectations.
import Foundation
import Testing
import Tensors
@testable import Checkpoints

enum TestData {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data")
    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
}

func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

/// Runs `body`, expects it to throw, and expects the error's text to contain every part.
func expectError(_ parts: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error containing \(parts)", sourceLocation: sourceLocation)
    } catch {
        let text = "\(error)"
        for p in parts where !text.contains(p) {
            Issue.record("error \"\(text)\" does not mention \"\(p)\"", sourceLocation: sourceLocation)
        }
    }
}

/// The parsed JSON file at `url`.
func readJSON(_ url: URL) throws -> JSONValue {
    try JSONValue.parse(Data(contentsOf: url))
}

/// Expects `a` and `b` to be bit-for-bit equal; on failure reports where, not the arrays.
func expectBitEqual(_ a: [Float], _ b: [Float], _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    guard a.count == b.count else {
        Issue.record("\(label): \(a.count) values vs \(b.count)", sourceLocation: sourceLocation)
        return
    }
    var first = -1, n = 0
    for i in 0..<a.count where a[i].bitPattern != b[i].bitPattern {
        if first < 0 { first = i }
        n += 1
    }
    if n > 0 {
        Issue.record("\(label): \(n) of \(a.count) values differ; first at \(first): \(a[first]) vs \(b[first])", sourceLocation: sourceLocation)
    }
}
