// The host's API: REPL cells with Out[n], `_` and `_n`; interruption restoring the globals
// of the interrupted statement; isComplete; check (names resolved without running); safe
// mode; help from the builtin table.

import Foundation
import Testing
@testable import Script

/// A session whose `trip()` builtin sets the cancellation flag and then checks it, as a
/// SIGINT arriving inside a long primitive would.
private func trippingSession() -> Session {
    let b = Builtins.general()
    let session = Session(builtins: b, output: CapturedOutput())
    let flag = session.cancellation
    b.register(BuiltinSpec("trip", returns: .none, help: "Sets the cancellation flag and checks it.") { _, ctx in
        flag.set()
        try ctx.checkCancelled()
        return .none
    })
    return session
}

@Suite("Session")
struct SessionTests {
    @Test func cellsNumberTheirValues() {
        let s = Session(output: CapturedOutput())
        let a = s.evaluateCell("1 + 1")
        #expect(a.number == 1 && a.value == .int(2) && a.status == .ok)
        let b = s.evaluateCell("x = 5")
        #expect(b.number == 2 && b.value == nil)
        let c = s.evaluateCell("_1 + Out[1] + _ + x")
        #expect(c.number == 3 && c.value == .int(11))
        #expect(s.evaluateCell("a = 1; a + 41").value == .int(42))
        #expect(s.evaluateCell("print(1)").value == nil)
        #expect(s[variable: "_4"] == .int(42))
    }

    @Test func cellErrorsNameTheCell() {
        let s = Session(output: CapturedOutput())
        _ = s.evaluateCell("y = 1")
        let r = s.evaluateCell("y + nope")
        #expect(r.status == .error)
        #expect(r.diagnostics.first?.rendered.hasPrefix("In[2]:1:5: error[E0301]: undefined variable `nope`") == true)
        let parse = s.evaluateCell("y +", file: "cell.come")
        #expect(parse.diagnostics.first?.range?.file == "cell.come")
    }

    @Test func functionsDefinedInCellsKeepTheirSource() {
        let s = Session(output: CapturedOutput())
        _ = s.evaluateCell("fn f(x) {\n  return x / 0\n}")
        let r = s.evaluateCell("f(1)")
        let text = r.diagnostics.first?.rendered ?? ""
        #expect(text.hasPrefix("In[1]:2:10: error[E0502]: division by zero\n 2 |   return x / 0"))
        #expect(text.hasSuffix("  in fn f at In[2]:1:1"))
    }

    @Test func interruptionRestoresGlobals() {
        let s = trippingSession()
        _ = s.evaluateCell("x = 1")
        _ = s.evaluateCell("x = 2")
        let r = s.evaluateCell("for i in range(10) { x = x + 1; ys = [x]; if i == 3 { trip() } }")
        #expect(r.status == .interrupted)
        #expect(r.diagnostics.first?.id == ErrorID.interrupted)
        #expect(s[variable: "x"] == .int(2))
        #expect(s[variable: "i"] == nil)
        #expect(s[variable: "ys"] == nil)
        #expect(!s.cancellation.isSet)
        #expect(s.evaluateCell("x + 1").value == .int(3))
        #expect(s.records.last(where: { $0.status == .interrupted })?.source.hasPrefix("for i in range(10)") == true)
    }

    @Test func interruptionFromAnotherThreadStopsALoop() {
        let s = Session(output: CapturedOutput())
        _ = s.evaluateCell("n = 0")
        let flag = s.cancellation
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { flag.set() }
        let r = s.evaluateCell("while true { n += 1 }")
        #expect(r.status == .interrupted)
        #expect(s[variable: "n"] == .int(0))
    }

    @Test func interruptionStopsAScriptEvenWhenKeepingGoing() {
        let s = trippingSession()
        let out = s.output as! CapturedOutput
        s.keepGoing = true
        let r = s.run(source: "print(1)\nfn f() { trip() }\nz = f()\nprint(2)", file: "t.come")
        #expect(r.status == .interrupted)
        #expect(r.exitCode == 130)
        #expect(out.text == "1\n")
        #expect(s[variable: "z"] == nil)
        #expect(r.diagnostics.map(\.rendered).first?.hasPrefix("t.come:3:1: error[E0701]: interrupted") == true)
    }

    @Test func scriptExitCodes() {
        let s = Session(output: CapturedOutput())
        #expect(s.run(source: "x = 1", file: "a.come").exitCode == 0)
        #expect(s.run(source: "x = nope", file: "b.come").exitCode == 1)
        #expect(s.run(source: "x = (", file: "c.come").exitCode == 1)
    }

    @Test func runDisplaysValuesThroughTheOutput() {
        let out = CapturedOutput()
        let s = Session(output: out)
        _ = s.run(source: "1\nx = 2\nx * 10\nnone", file: "d.come")
        let values = out.events.compactMap { e -> String? in
            if case .value(let v, let cell) = e { return "\(cell):\(v.repr)" }
            return nil
        }
        #expect(values == ["1:1", "3:20"])
    }

    @Test(arguments: [
        ("f(1,", false), ("if x {", false), ("[1, 2]", true), ("x = {a: 1,", false),
        ("print(\"(\")", true), ("# (", true), ("\"unterminated", true), ("fn f() {\n  return 1\n}", true),
        (")", true), ("fn f() {\n  if x {\n  }", false), ("", true), ("xs[", false),
    ])
    func isComplete(_ text: String, _ complete: Bool) {
        #expect(Session.isComplete(text) == complete)
    }

    @Test func checkResolvesNamesWithoutRunning() {
        let out = CapturedOutput()
        let s = Session(output: out)
        let ds = s.check(source: """
            calib = 3
            print("not run")
            s = score(calbi)
            x = range(3, stpe=1)
            fn uses_later() { return later + 1 }
            later = 1
            for i in range(3) { total = i }
            y = len("a", "b")
            z = sqrt("four")
            w = missing_fn(1)
            count += 1
            """, file: "c.come")
        #expect(out.text.isEmpty)
        #expect(ds.map { "\($0.range!.line):\($0.range!.column) \($0.id) \($0.message)" } == [
            "3:5 E0302 unknown function `score`",
            "3:11 E0301 undefined variable `calbi`",
            "4:14 E0401 unknown keyword `stpe`, did you mean `step`?",
            "8:14 E0403 `len` takes 1 argument, got 2",
            "9:10 E0404 argument `x` of `sqrt` must be number, got string",
            "10:5 E0302 unknown function `missing_fn`",
            "11:1 E0301 undefined variable `count`",
        ])
        #expect(ds[1].hint == "did you mean `calib`?")
    }

    @Test func checkSeesSessionGlobalsAndUsedFiles() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "fn helper() { return 1 }\nshared = 2\n".write(to: dir.appendingPathComponent("lib.come"), atomically: true, encoding: .utf8)
        let s = Session(output: CapturedOutput(), baseDirectory: dir.path)
        _ = s.evaluateCell("known = 1")
        #expect(s.check(source: "use \"lib.come\"\nv = helper() + shared + known", file: "main.come").isEmpty)
        let missing = s.check(source: "use \"nope.come\"", file: "main.come")
        #expect(missing.map(\.id) == [ErrorID.cannotReadFile])
        #expect(s.check(source: "x = (1 +", file: "main.come").map(\.id) == [ErrorID.unclosedBracket])
    }

    @Test func safeModeRefusesEffects() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = Session(output: CapturedOutput(), baseDirectory: dir.path)
        s.allowedEffects = [.readsFiles]
        let r = s.evaluateCell("json_write([1], \"a.json\")")
        #expect(r.diagnostics.first?.message == "`json_write` writes files, which this session does not allow")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("a.json").path))
        s.allowedEffects = nil
        #expect(s.evaluateCell("json_write([1], \"a.json\")").status == .ok)
        #expect(s.evaluateCell("json_read(\"a.json\")").value == .list([.int(1)]))
    }

    @Test func variablesAndHelp() {
        let s = Session(output: CapturedOutput())
        _ = s.evaluateCell("b = 2; a = 1")
        _ = s.evaluateCell("a + b")
        _ = s.evaluateCell("fn f(x, y=1) { }")
        #expect(s.variables.map(\.name) == ["a", "b", "f"])
        #expect(s.helpText("f") == "fn f(x, y=1)")
        #expect(s.helpText("len") == s.builtins["len"]?.helpText)
        #expect(s.helpText("nothing") == nil)
    }

    @Test func hostObjectsThroughTheTable() {
        let s = Session(builtins: hostBuiltins(), output: CapturedOutput())
        #expect(s.evaluateCell("m = load(\"x.gguf\")\nm.layers").value == .int(30))
        #expect(s.evaluateCell("merge(m, layers=[1, 2, 3]).layers").value == .int(28))
        let bad = s.evaluateCell("measure(m, nsmaples=8)")
        #expect(bad.diagnostics.first?.message == "unknown keyword `nsmaples`, did you mean `nsamples`?")
        let typed = s.evaluateCell("merge(3, layers=[1])")
        #expect(typed.diagnostics.first?.message == "argument `m` of `merge` must be model, got int")
        let field = s.evaluateCell("m.layrs")
        #expect(field.diagnostics.first?.message == "model has no field `layrs`")
        #expect(field.diagnostics.first?.hint == "did you mean `layers`?")
        #expect(s.evaluateCell("m").value.map { $0.display() } == "<model x.gguf, 30 layers>")
        #expect(s.evaluateCell("type(m)").value == .string("model"))
    }

    @Test func bindingWithoutSource() throws {
        let b = Builtins.general()
        let bound = try b.bind("range", [.int(2)], keywords: [("step", .int(3))])
        #expect(bound.resolved.map(\.name) == ["start", "stop", "step"])
        #expect(bound.values == [.int(2), .none, .int(3)])
        #expect(throws: ScriptError.self) { try b.bind("range", [], keywords: [("stpe", .int(1))]) }
    }

    @Test func deepRecursionWithinTheLimitWorks() {
        let s = Session(output: CapturedOutput())
        let r = onLargeStack { s.evaluateCell("fn down(n) { if n == 0 { return 0 }; return 1 + down(n - 1) }\ndown(190)") }
        #expect(r.value == .int(190))
    }
}
