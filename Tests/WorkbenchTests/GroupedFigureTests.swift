// A grouped figure in a notebook: `plot` of a record of lists is written as an SVG file
// beside the Markdown, embedded as an image, and renders to a PNG of the stated size
// (rsvg-convert, installed by scripts/setup).
import Foundation
import TestSupport
import Testing

@Test func groupedFiguresRenderAsImages() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try """
    #: Two models on three tasks.
    plot({dense: [0.71, 0.52, 0.43], pruned: [0.66, 0.47, 0.35]}, labels=["piqa", "hellaswag", "arc_e"], title="accuracy")
    """.write(to: dir.appendingPathComponent("g.come"), atomically: true, encoding: .utf8)
    let r = try ComeBinary.run(["run", "g.come", "--notebook", "g.md", "--no-timings", "--no-log"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let md = try String(contentsOf: dir.appendingPathComponent("g.md"), encoding: .utf8)
    #expect(md.contains("![accuracy](g-fig1.svg)"))
    let svg = try String(contentsOf: dir.appendingPathComponent("g-fig1.svg"), encoding: .utf8)
    #expect(svg.contains(">dense</text>") && svg.contains(">pruned</text>") && svg.contains("fill=\"#dd8452\""))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/rsvg-convert")
    p.arguments = [dir.appendingPathComponent("g-fig1.svg").path, "-o", dir.appendingPathComponent("g.png").path]
    try p.run(); p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let png = try Data(contentsOf: dir.appendingPathComponent("g.png"))
    #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    let w = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
    #expect(w == 640 && h == 360)
}
