// Grouped charts: several named series over the same labels. The SVG is deterministic, bar
// heights are proportional to the values on one shared scale, each series has its colour
// and a legend entry; the text form is one block per label, one bar per series; `plot`
// takes a record of lists or a list of lists.
import Foundation
import Testing
@testable import Script

@Suite("Grouped charts")
struct GroupedChartTests {
    let series = [ChartSeries(name: "dense", values: [1, 2]), ChartSeries(name: "pruned", values: [2, 1])]

    @Test func svgIsDeterministicWithALegend() {
        let a = SVGChart.renderGrouped(series: series, labels: ["piqa", "hellaswag"], title: "accuracy <%>")
        #expect(a == SVGChart.renderGrouped(series: series, labels: ["piqa", "hellaswag"], title: "accuracy <%>"))
        #expect(a != SVGChart.renderGrouped(series: [series[0], ChartSeries(name: "pruned", values: [2, 1.5])],
                                            labels: ["piqa", "hellaswag"], title: "accuracy <%>"))
        #expect(a.contains(">accuracy &lt;%&gt;</text>"))
        // Legend right of the plot (x 568 = 60 + 496 + 12): a swatch and the name per series.
        #expect(a.contains("<rect x=\"568.00\" y=\"44.00\" width=\"10.00\" height=\"10.00\" fill=\"#4c72b0\"/>"))
        #expect(a.contains("<text x=\"582.00\" y=\"53.00\" font-size=\"10\" text-anchor=\"start\">dense</text>"))
        #expect(a.contains("<rect x=\"568.00\" y=\"60.00\" width=\"10.00\" height=\"10.00\" fill=\"#dd8452\"/>"))
        #expect(a.contains("<text x=\"582.00\" y=\"69.00\" font-size=\"10\" text-anchor=\"start\">pruned</text>"))
        #expect(!a.contains("-0.00"))
        #expect(a.hasSuffix("</svg>\n"))
    }

    @Test func barGeometry() throws {
        // Plot x 60...556 (the legend takes 28 + 6 × 6 px), y 40...310, values 0...2: two
        // slots of 248 px, each with two bars of 0.8 × 248 / 2 = 99.2 px after a 24.8 px margin.
        let svg = SVGChart.renderGrouped(series: series, labels: ["a", "b"], title: "")
        #expect(svg.contains("<rect x=\"84.80\" y=\"175.00\" width=\"99.20\" height=\"135.00\" fill=\"#4c72b0\"/>"))
        #expect(svg.contains("<rect x=\"184.00\" y=\"40.00\" width=\"99.20\" height=\"270.00\" fill=\"#dd8452\"/>"))
        #expect(svg.contains("<rect x=\"332.80\" y=\"40.00\" width=\"99.20\" height=\"270.00\" fill=\"#4c72b0\"/>"))
        #expect(svg.contains("<rect x=\"432.00\" y=\"175.00\" width=\"99.20\" height=\"135.00\" fill=\"#dd8452\"/>"))
        #expect(svg.contains("<text x=\"184.00\" y=\"326.00\" font-size=\"10\" text-anchor=\"middle\">a</text>"))

        // Any values: every bar's height over its value is the same constant.
        let values: [[Double]] = [[0.3, 0.9, 0.45], [0.6, 0.15, 0.75], [0.2, 0.5, 0.05]]
        let many = SVGChart.renderGrouped(series: values.enumerated().map { ChartSeries(name: "s\($0.offset)", values: $0.element) },
                                          labels: ["x", "y", "z"], title: "")
        let re = try Regex(#"<rect x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)" height="([0-9.]+)" fill="(#[0-9a-f]+)"/>"#)
        let bars = many.matches(of: re).compactMap { m -> (Double, String)? in
            let fill = String(m.output[3].substring!)
            guard SVGChart.palette.contains(fill), m.output[1].substring != "10.00", let h = Double(m.output[2].substring!) else { return nil }
            return (h, fill)
        }
        try #require(bars.count == 9)
        let flat = values.flatMap { $0 }
        let k = bars[0].0 / flat[0]
        for (i, b) in bars.enumerated() {
            #expect(abs(b.0 / flat[i] - k) < 0.05 / flat[i], "bar \(i): height \(b.0) for \(flat[i])")
            #expect(b.1 == SVGChart.palette[i / 3])
        }
        #expect(abs(k * 0.9 - 270) < 0.01)   // the largest value spans the plot
    }

    @Test func lineKindDrawsOneLinePerSeries() {
        let svg = SVGChart.renderGrouped(kind: .line, series: series, labels: ["a", "b"], title: "")
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.contains("stroke=\"#dd8452\""))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 4)
    }

    @Test func oneSeriesChartsAreUnchanged() {
        // The single-series path is the grouped one with one unnamed series and no legend.
        let svg = SVGChart.render(kind: .bar, values: [1, 2], labels: ["a", "b"], title: "")
        #expect(svg.contains("<rect x=\"88.00\" y=\"175.00\" width=\"224.00\" height=\"135.00\" fill=\"#4c72b0\"/>"))
        #expect(!svg.contains("text-anchor=\"start\""))
    }

    @Test func textHasABlockPerLabel() {
        let s = [ChartSeries(name: "dense", values: [1, 0.5]), ChartSeries(name: "pruned", values: [0.5, .nan])]
        #expect(BarChart.renderGrouped(series: s, labels: ["a", "b"], width: 4) == """
            a
              dense  | #### 1.0000
              pruned | ##   0.5000
            b
              dense  | ##   0.5000
              pruned |         nan
            """)
        #expect(BarChart.renderGrouped(series: s, labels: ["a"], width: 8, unicode: true).hasPrefix("a\n  dense  │ ████████ 1.0000\n"))
        #expect(BarChart.renderGrouped(series: [], labels: []) == "(no values)")
    }

    @Test func groupedFigureValue() {
        let f = Figure(grouped: [(name: "dense", values: [1, 2]), (name: "pruned", values: [0.5, 1])], labels: ["x", "y"], title: "t")
        #expect(f.isGrouped && f.kind == .bar)
        #expect(f.field("series") == .list([.string("dense"), .string("pruned")]))
        #expect(f.field("values") == .list([.list([.float(1), .float(2)]), .list([.float(0.5), .float(1)])]))
        #expect(f.field("svg") == .string(f.svg))
        #expect(f.summary == "<figure: grouped bar chart \"t\", 2 series × 2 values>")
        #expect(f.render(DisplayOptions(terminal: true, barWidth: 4)).hasPrefix("t\nx\n  dense  │ ██   1.0000\n"))
        let plain = Figure(kind: .bar, values: [1, 2], labels: ["x", "y"], title: "t")
        #expect(!plain.isGrouped && plain.field("series") == .list([]) && plain.values == [1, 2])
    }

    @Test func plotTakesARecordOrAListOfLists() throws {
        let out = CapturedOutput()
        let s = Session(output: out)
        func figure(_ code: String) throws -> Figure {
            let r = s.evaluateCell(code)
            #expect(r.status == .ok, "\(r.diagnostics.map { s.render($0) })")
            guard case .host(let h)? = r.value, let f = h as? Figure else { throw ScriptError("not a figure", id: "E0000") }
            return f
        }
        let a = try figure("plot({dense: [1, 2], pruned: [0.5, 1]}, labels=[\"x\", \"y\"], title=\"t\")")
        #expect(a.series == [ChartSeries(name: "dense", values: [1, 2]), ChartSeries(name: "pruned", values: [0.5, 1])])
        #expect(a.svg == Figure(grouped: [("dense", [1, 2]), ("pruned", [0.5, 1])], labels: ["x", "y"], title: "t").svg)
        let b = try figure("plot([[1, 2, 3], [3, 2, 1]], kind=\"line\")")
        #expect(b.isGrouped && b.kind == .line && b.series.map(\.name) == ["0", "1"] && b.labels == ["0", "1", "2"])
        #expect(!(try figure("plot([1, 2])")).isGrouped)
        for (code, message) in [("plot({a: [1, 2], b: [1]})", "series differ in length"),
                                ("plot({a: [1], b: \"x\"})", "series `b` must be a list of numbers"),
                                ("plot({a: [1, 2]}, labels=[\"x\"])", "2 values per series but 1 labels"),
                                ("plot({})", "no series")] {
            let r = s.evaluateCell(code)
            #expect(r.status == .error)
            #expect(r.diagnostics.first?.message.contains(message) == true, "\(code): \(r.diagnostics.map(\.message))")
        }
    }
}
