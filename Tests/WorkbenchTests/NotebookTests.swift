// Notebooks: the same script rendered twice gives byte-identical Markdown and SVG files;
// prose, cells, outputs and figures land where they should; the SVG renders to a PNG of
// the stated size (rsvg-convert, installed by scripts/setup).
import Foundation
import TestSupport
import Testing

let notebookScript = """
#: # Layers of a tiny model
#: The llama fixture, its layer count, and a chart.
m = load("\(Fixtures.model("llama").path)")
m.layers
# %%
xs = [0.5, 0.25, 0.75]
print(len(xs))
#: A figure:
plot(xs, kind="bar", title="three bars")
plot(xs, kind="line", title="a line")
"""

@Test func notebooksAreDeterministicAndComplete() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try notebookScript.write(to: dir.appendingPathComponent("nb.come"), atomically: true, encoding: .utf8)
    for out in ["a", "b"] {
        let r = try ComeBinary.run(["run", "nb.come", "--notebook", "\(out)/nb.md", "--no-timings", "--no-log"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
    }
    // Rendering again over existing files replaces them.
    let again = try ComeBinary.run(["run", "nb.come", "--notebook", "a/nb.md", "--no-timings", "--no-log"], in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    for f in ["nb.md", "nb-fig1.svg", "nb-fig2.svg"] {
        let a = try Data(contentsOf: dir.appendingPathComponent("a/\(f)")), b = try Data(contentsOf: dir.appendingPathComponent("b/\(f)"))
        #expect(a == b, "\(f) differs between runs")
    }
    let md = try String(contentsOf: dir.appendingPathComponent("a/nb.md"), encoding: .utf8)
    #expect(md.contains("# Layers of a tiny model\nThe llama fixture, its layer count, and a chart.\n"))
    #expect(md.contains("```come\nm = load("))
    #expect(md.contains("```text\n6\n```"))
    #expect(md.contains("![three bars](nb-fig1.svg)"))
    #expect(md.contains("![a line](nb-fig2.svg)"))
    #expect(!md.contains("<sub>"))
    let timed = try ComeBinary.run(["run", "nb.come", "--notebook", "t/nb.md", "--no-log"], in: dir)
    #expect(timed.status == 0)
    #expect(try String(contentsOf: dir.appendingPathComponent("t/nb.md"), encoding: .utf8).contains(" s</sub>"))
}

@Test func figuresRenderAsImages() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try notebookScript.write(to: dir.appendingPathComponent("nb.come"), atomically: true, encoding: .utf8)
    #expect(try ComeBinary.run(["run", "nb.come", "--notebook", "nb.md", "--no-timings", "--no-log"], in: dir).status == 0)
    for f in ["nb-fig1", "nb-fig2"] {
        let r = try Subprocess.run("/usr/bin/rsvg-convert", [dir.appendingPathComponent("\(f).svg").path, "-o", dir.appendingPathComponent("\(f).png").path], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let png = try Data(contentsOf: dir.appendingPathComponent("\(f).png"))
        #expect(png.count > 1000)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR width and height, big-endian at bytes 16..23: the SVG's 640 × 360 viewport.
        let w = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(w == 640 && h == 360)
    }
}
