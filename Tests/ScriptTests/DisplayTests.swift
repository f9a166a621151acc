// Display: tables (box drawing and Markdown), the text bar chart, SVG charts — exact text
// and byte-identical output on repeated renders — and diagnostics with and without colour.

import Foundation
import Testing
@testable import Script

@Suite("Display")
struct DisplayTests {
    private let table = Table(columns: ["layer", "name", "score"],
                              rows: [[.int(0), .string("attn"), .float(0.5)], [.int(11), .string("mlp"), .float(-0.03125)],
                                     [.int(2), .none, .float(1234567.0)]])

    @Test func boxedTable() {
        #expect(table.render(DisplayOptions(terminal: true)) == """
            ┌───────┬──────┬───────────┐
            │ layer │ name │     score │
            ├───────┼──────┼───────────┤
            │     0 │ attn │    0.5000 │
            │    11 │ mlp  │   -0.0312 │
            │     2 │      │ 1.235e+06 │
            └───────┴──────┴───────────┘
            """)
    }

    @Test func markdownTable() {
        #expect(table.render(DisplayOptions(terminal: false)) == """
            | layer | name |     score |
            | ----: | ---- | --------: |
            |     0 | attn |    0.5000 |
            |    11 | mlp  |   -0.0312 |
            |     2 |      | 1.235e+06 |
            """)
        #expect(Table(columns: [], rows: []).markdown() == "(empty table)")
        #expect(Table(columns: ["a"], rows: [[.int(1), .int(2)], []]).rows == [[.int(1)], [.none]])
    }

    @Test func unicodeBarChart() {
        let text = BarChart.render(values: [1, 0.5, 0.3], labels: ["a", "bb", "c"], width: 8, unicode: true)
        #expect(text == """
             a │ ████████ 1.0000
            bb │ ████     0.5000
             c │ ██▍      0.3000
            """)
    }

    @Test func plainBarChart() {
        let text = BarChart.render(values: [2, -1, .nan], labels: [], width: 4, unicode: false)
        #expect(text == """
            0 | ####  2.0000
            1 | ##   -1.0000
            2 |          nan
            """)
        #expect(BarChart.render(values: [], labels: []) == "(no values)")
    }

    @Test func svgIsDeterministic() {
        let values = [0.25, 1.5, -0.5, 2.0]
        let a = SVGChart.render(kind: .bar, values: values, labels: ["l0", "l1", "l2", "l3"], title: "Skip <scores>")
        let b = SVGChart.render(kind: .bar, values: values, labels: ["l0", "l1", "l2", "l3"], title: "Skip <scores>")
        #expect(a == b)
        #expect(a != SVGChart.render(kind: .bar, values: [0.25, 1.5, -0.5, 2.1], labels: ["l0", "l1", "l2", "l3"], title: "Skip <scores>"))
        #expect(a.contains("<text x=\"320.00\" y=\"24.00\" font-size=\"14\" text-anchor=\"middle\">Skip &lt;scores&gt;</text>"))
        #expect(a.components(separatedBy: "fill=\"#4c72b0\"").count - 1 == 4)
        #expect(!a.contains("-0.00"))
    }

    @Test func svgBarGeometry() {
        // Plot area x 60...620, y 40...310; two bars, values 0...2.
        let svg = SVGChart.render(kind: .bar, values: [1, 2], labels: ["a", "b"], title: "")
        #expect(svg.contains("<rect x=\"88.00\" y=\"175.00\" width=\"224.00\" height=\"135.00\" fill=\"#4c72b0\"/>"))
        #expect(svg.contains("<rect x=\"368.00\" y=\"40.00\" width=\"224.00\" height=\"270.00\" fill=\"#4c72b0\"/>"))
        #expect(svg.contains("<text x=\"200.00\" y=\"326.00\" font-size=\"10\" text-anchor=\"middle\">a</text>"))
        #expect(svg.hasSuffix("</svg>\n"))
    }

    @Test func svgLineChart() {
        let svg = SVGChart.render(kind: .line, values: [1, 2], labels: ["a", "b"], title: "")
        #expect(svg.contains("<polyline points=\"200.00,175.00 480.00,40.00\" fill=\"none\" stroke=\"#4c72b0\" stroke-width=\"2\"/>"))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
    }

    @Test func manyLabelsAreThinned() {
        let values = (0..<100).map(Double.init)
        let svg = SVGChart.render(kind: .bar, values: values, labels: values.map { String(Int($0)) }, title: "")
        #expect(svg.components(separatedBy: "text-anchor=\"middle\"").count - 1 == 20)
    }

    @Test func figureValue() {
        let f = Figure(kind: .bar, values: [1, 2], labels: ["x", "y"], title: "t")
        #expect(f.field("svg") == .string(f.svg))
        #expect(f.render(DisplayOptions(terminal: true, barWidth: 4)) == "t\nx │ ██   1.0000\ny │ ████ 2.0000")
        #expect(Value.host(f).display() == f.render(DisplayOptions()))
    }

    @Test func diagnosticsColourOnlyWhenAsked() {
        let d = Diagnostic(id: "E0301", message: "undefined variable `x`", range: SourceRange(file: "a.come", line: 3, column: 5, length: 2),
                           sourceLine: "y = xx + 1", hint: "did you mean `xs`?", notes: [DiagnosticNote("in fn f", at: SourceRange(file: "a.come", line: 9, column: 1))])
        let plain = DiagnosticFormatter().format(d)
        #expect(plain == """
            a.come:3:5: error[E0301]: undefined variable `x`
             3 | y = xx + 1
               |     ^^
            hint: did you mean `xs`?
              in fn f at a.come:9:1
            """)
        #expect(!plain.contains("\u{1B}"))
        let coloured = DiagnosticFormatter(color: true).format(d)
        #expect(coloured.contains("\u{1B}[1;31merror[E0301]\u{1B}[0m"))
    }

    @Test func valueForms() {
        let v = Value.list([.string("a\"b"), .float(0.1), .record(Record([("x y", .int(1))]))])
        #expect(v.repr == "[\"a\\\"b\", 0.1, {\"x y\": 1}]")
        #expect(Value.string("s").description == "s")
        #expect(Value.list((0..<21).map(Value.int)).display() == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 11 more]")
    }
}
