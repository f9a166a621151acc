// Every tutorial runs on the default model and its assertions hold, with a reduced
// window count so the suite stays short (scripts/render-tutorials runs the full ones).
import Foundation
import TestSupport
import Testing

@Test(arguments: ["01-load-and-measure", "02-which-layers-are-redundant", "03-channel-sensitivity", "04-one-merge-by-hand",
                  "05-progressive-come-vs-baselines", "06-hierarchical-distillation"])
func tutorialRuns(name: String) throws {
    guard Fixtures.defaultModel != nil else { Issue.record("the default model is missing: run scripts/setup"); return }
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = Fixtures.repoRoot.appendingPathComponent("tutorials/\(name).come").path
    var args = ["run", path, "--notebook", "nb/\(name).md", "--no-timings", "--no-log"]
    // Tutorial 5 prunes three ways (SLEB scores every layer each step): one step, one window.
    // Tutorial 6 prunes, then distils: two merges, few steps.
    if name.hasPrefix("05") { args += ["--windows", "1", "--target", "29"] }
    else if name.hasPrefix("06") { args += ["--windows", "2", "--target", "28", "--steps", "8"] }
    else { args += ["--windows", "2"] }
    let r = try ComeBinary.run(args, in: dir)
    #expect(r.status == 0, "\(name): \(r.stderr.suffix(2000))")
    let md = try String(contentsOf: dir.appendingPathComponent("nb/\(name).md"), encoding: .utf8)
    #expect(md.hasPrefix("# \(name).come\n\n# "), "the notebook opens with the tutorial's prose")
}
