// Tab completion: builtins, variables and keywords; keyword arguments of the call being
// typed (from the builtin table or a fn); fields after a dot; string literals completed by
// the parameter's completer (files, choices) or as paths.

import Foundation
import Testing
@testable import Script

@Suite("Completion")
struct CompletionTests {
    private func session(_ setup: String = "") -> Session {
        let s = Session(builtins: hostBuiltins(), output: CapturedOutput())
        if !setup.isEmpty { _ = s.evaluateCell(setup) }
        return s
    }

    private func complete(_ s: Session, _ line: String) -> Completion {
        s.complete(line: line, cursor: line.count)
    }

    @Test func builtinsVariablesKeywords() {
        let s = session("my_variable = 1; my_other = 2")
        #expect(complete(s, "pri") == Completion(start: 0, candidates: ["print"]))
        #expect(complete(s, "x = my_") == Completion(start: 4, candidates: ["my_other", "my_variable"]))
        #expect(complete(s, "whi").candidates == ["while"])
        #expect(complete(s, "json_").candidates == ["json_read", "json_write"])
        #expect(!complete(s, "").candidates.contains("Out"))
    }

    @Test func keywordArgumentsOfTheCall() {
        let s = session("m = load(\"a\")")
        #expect(complete(s, "range(1, st").candidates.prefix(2) == ["stop=", "step="])
        #expect(complete(s, "range(1, step=2, st").candidates.first == "stop=")
        #expect(!complete(s, "range(1, step=2, st").candidates.contains("step="))
        let merge = complete(s, "m2 = merge(m, la")
        #expect(merge.start == 14)
        #expect(merge.candidates == ["layers="])
        _ = s.evaluateCell("fn train(steps=1, lr=0.1) { }")
        #expect(complete(s, "train(l").candidates.first == "lr=")
        // Nested calls complete the innermost.
        #expect(complete(s, "print(range(1, ste").candidates.first == "step=")
    }

    @Test func variablesOfTheParameterType() {
        let s = session("m = load(\"a\"); other = 3")
        let c = complete(s, "merge(")
        #expect(c.candidates.prefix(4) == ["m=", "layers=", "scores=", "m"])
    }

    @Test func fieldsAfterADot() {
        let s = session("r = {skip: [1], score: 2, cfg: {lr: 1, layers: 2}}\nt = table([{layer: 0}])\nm = load(\"a\")")
        #expect(complete(s, "r.s") == Completion(start: 2, candidates: ["skip", "score"]))
        #expect(complete(s, "x = r.cfg.l").candidates == ["lr", "layers"])
        #expect(complete(s, "t.").candidates == ["columns", "nrows", "rows", "layer"])
        #expect(complete(s, "print(m.la").candidates == ["layers"])
        #expect(complete(s, "nothing.x").candidates.isEmpty)
    }

    @Test func stringsCompleteWithTheParametersCompleter() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["a.come", "b.json", "c.gguf", ".hidden"] {
            try "".write(to: dir.appendingPathComponent(f), atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try "".write(to: dir.appendingPathComponent("sub/d.json"), atomically: true, encoding: .utf8)
        let s = session()
        s.baseDirectory = dir.path
        #expect(complete(s, "use \"") == Completion(start: 5, candidates: ["a.come", "b.json", "c.gguf", "sub/"]))
        #expect(complete(s, "x = json_read(\"").candidates == ["b.json", "sub/"])
        #expect(complete(s, "x = json_read(\"sub/").candidates == ["sub/d.json"])
        #expect(complete(s, "m = load(\"").candidates == ["c.gguf", "sub/"])
        #expect(complete(s, "plot([1], kind=\"").candidates == ["bar", "line"])
        #expect(complete(s, "plot([1], kind=\"l").candidates == ["line"])
        #expect(complete(s, "help(\"json_").candidates == ["json_read", "json_write"])
        #expect(complete(s, "use \".h").candidates == [".hidden"])
    }

    @Test func nothingInCommentsOrAfterNumbers() {
        let s = session()
        #expect(complete(s, "x = 1  # pri").candidates.isEmpty)
        #expect(complete(s, "x = 1.").candidates.isEmpty)
    }

    @Test func cursorInTheMiddle() {
        let s = session()
        let line = "pri(1)"
        #expect(s.completions(line: line, cursor: 3) == ["print"])
    }
}
