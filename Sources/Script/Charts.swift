// Charts: a horizontal bar chart in text (per-layer scores in a terminal) and SVG bar and
// line charts for notebooks, each for one series of values or for several named series
// over the same labels (grouped bars with a legend). Output is deterministic — fixed
// number formatting, no timestamps, no randomness — so the same values give byte-identical text.

import Foundation

/// Table cells and bar values: ints as they are; floats with four decimals, or in
/// scientific notation when very small or very large.
func formatNumber(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    let a = abs(d)
    if a != 0 && (a < 1e-3 || a >= 1e6) { return String(format: "%.3e", d) }
    let s = String(format: "%.4f", d)
    return s == "-0.0000" ? "0.0000" : s
}

func padLeft(_ s: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - s.count)) + s
}

func padRight(_ s: String, _ width: Int) -> String {
    s + String(repeating: " ", count: max(0, width - s.count))
}

public enum BarChart {
    private static let partials: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]

    /// One line per value: the label, a bar proportional to |value| over the largest |value|,
    /// and the value (as `texts` gives it, else four decimals). `unicode` draws with block
    /// characters (to eighths), else with `#`.
    public static func render(values: [Double], labels: [String], texts: [String]? = nil, width: Int = 40,
                              unicode: Bool = false) -> String {
        guard !values.isEmpty else { return "(no values)" }
        let labels = values.indices.map { $0 < labels.count ? labels[$0] : String($0) }
        let labelWidth = labels.map(\.count).max() ?? 0
        let texts = values.indices.map { k in texts.flatMap { k < $0.count ? $0[k] : nil } ?? formatNumber(values[k]) }
        let valueWidth = texts.map(\.count).max() ?? 0
        let scale = values.filter(\.isFinite).map(abs).max() ?? 0
        let separator = unicode ? " │ " : " | "
        var lines: [String] = []
        for (k, v) in values.enumerated() {
            lines.append(padLeft(labels[k], labelWidth) + separator + bar(v, scale: scale, width: width, unicode: unicode)
                         + " " + padLeft(texts[k], valueWidth))
        }
        return lines.joined(separator: "\n")
    }

    /// One block per label (the label on its own line), in it one bar per series, all on
    /// one scale so bars compare across blocks: `dense` and `pruned` per task.
    public static func renderGrouped(series: [ChartSeries], labels: [String], width: Int = 40, unicode: Bool = false) -> String {
        let n = series.map(\.values.count).max() ?? 0
        guard n > 0 else { return "(no values)" }
        let nameWidth = series.map(\.name.count).max() ?? 0
        let texts = series.map { s in (0..<n).map { k in k < s.values.count ? formatNumber(s.values[k]) : "" } }
        let valueWidth = texts.flatMap { $0 }.map(\.count).max() ?? 0
        let scale = series.flatMap(\.values).filter(\.isFinite).map(abs).max() ?? 0
        let separator = unicode ? " │ " : " | "
        var lines: [String] = []
        for k in 0..<n {
            lines.append(k < labels.count ? labels[k] : String(k))
            for (j, s) in series.enumerated() {
                let v = k < s.values.count ? s.values[k] : .nan
                lines.append("  " + padRight(s.name, nameWidth) + separator + bar(v, scale: scale, width: width, unicode: unicode)
                             + " " + padLeft(texts[j][k], valueWidth))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// |v| / scale of `width` cells, padded to `width`: block characters to eighths, or `#`.
    private static func bar(_ v: Double, scale: Double, width: Int, unicode: Bool) -> String {
        let cells = v.isFinite && scale > 0 ? abs(v) / scale * Double(width) : 0
        var bar: String
        if unicode {
            let eighths = Int((cells * 8).rounded())
            bar = String(repeating: "█", count: eighths / 8)
            if eighths % 8 > 0 { bar.append(partials[eighths % 8 - 1]) }
        } else {
            bar = String(repeating: "#", count: Int(cells.rounded()))
        }
        return padRight(bar, width)
    }
}

/// One named row of values over a chart's labels (a model's score per task).
public struct ChartSeries: Sendable, Equatable {
    public var name: String
    public var values: [Double]
    public init(name: String, values: [Double]) { self.name = name; self.values = values }
}

public enum SVGChart {
    public enum Kind: String, CaseIterable, Sendable {
        case bar, line
    }

    /// A `width`×`height` SVG: title, y axis with five ticks, bars or a polyline with points,
    /// and the labels under the x axis (thinned to at most 20 when there are more than 40).
    public static func render(kind: Kind, values: [Double], labels: [String], title: String,
                              width: Int = 640, height: Int = 360) -> String {
        draw(kind: kind, series: [ChartSeries(name: "", values: values)], legend: false, labels: labels, title: title,
             width: width, height: height)
    }

    /// Several named series over the same labels: per label a group of bars side by side
    /// (or per series a line), one colour per series, and a legend right of the plot.
    public static func renderGrouped(kind: Kind = .bar, series: [ChartSeries], labels: [String], title: String,
                                     width: Int = 640, height: Int = 360) -> String {
        draw(kind: kind, series: series, legend: true, labels: labels, title: title, width: width, height: height)
    }

    /// Series colours in order (seaborn's "deep" palette; the first is the one-series colour).
    public static let palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
                                 "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]

    private static func draw(kind: Kind, series: [ChartSeries], legend: Bool, labels: [String], title: String,
                             width: Int, height: Int) -> String {
        // The legend column: a 10 px swatch, a gap, the name at about 6 px a character (10 px sans).
        let legendWidth = legend ? 28 + 6 * Double(series.map(\.name.count).max() ?? 0) : 0
        let left = 60.0, right = 20.0 + legendWidth, top = 40.0, bottom = 50.0
        let pw = Double(width) - left - right, ph = Double(height) - top - bottom
        let finite = series.flatMap(\.values).filter(\.isFinite)
        var lo = min(0, finite.min() ?? 0), hi = max(0, finite.max() ?? 0)
        if lo == hi { hi = lo + 1 }
        func y(_ v: Double) -> Double { top + (hi - v) / (hi - lo) * ph }
        let count = series.map(\.values.count).max() ?? 0
        let slot = pw / Double(max(count, 1))
        func cx(_ i: Int) -> Double { left + (Double(i) + 0.5) * slot }
        func colour(_ j: Int) -> String { palette[j % palette.count] }

        var out: [String] = []
        out.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\">")
        out.append("<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>")
        if !title.isEmpty {
            out.append("<text x=\"\(f(Double(width) / 2))\" y=\"24.00\" font-size=\"14\" text-anchor=\"middle\">\(xmlEscape(title))</text>")
        }
        for t in 0...4 {
            let v = lo + (hi - lo) * Double(t) / 4
            let ty = y(v)
            out.append("<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(left + pw))\" y2=\"\(f(ty))\" stroke=\"#e0e0e0\" stroke-width=\"1\"/>")
            out.append("<text x=\"\(f(left - 6))\" y=\"\(f(ty + 3))\" font-size=\"10\" text-anchor=\"end\">\(xmlEscape(tickLabel(v)))</text>")
        }
        out.append("<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + ph))\" stroke=\"#333333\" stroke-width=\"1\"/>")
        out.append("<line x1=\"\(f(left))\" y1=\"\(f(y(0)))\" x2=\"\(f(left + pw))\" y2=\"\(f(y(0)))\" stroke=\"#333333\" stroke-width=\"1\"/>")
        switch kind {
        case .bar:
            // Each label's slot keeps a 10 % margin either side; its bars share the rest.
            let barWidth = slot * 0.8 / Double(max(series.count, 1))
            for (j, s) in series.enumerated() {
                for (i, v) in s.values.enumerated() where v.isFinite {
                    let y0 = y(max(v, 0)), y1 = y(min(v, 0))
                    out.append("<rect x=\"\(f(left + Double(i) * slot + slot * 0.1 + Double(j) * barWidth))\" y=\"\(f(y0))\" width=\"\(f(barWidth))\" height=\"\(f(y1 - y0))\" fill=\"\(colour(j))\"/>")
                }
            }
        case .line:
            for (j, s) in series.enumerated() {
                let points = s.values.enumerated().filter { $0.element.isFinite }.map { "\(f(cx($0.offset))),\(f(y($0.element)))" }
                if !points.isEmpty {
                    out.append("<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour(j))\" stroke-width=\"2\"/>")
                }
                for (i, v) in s.values.enumerated() where v.isFinite {
                    out.append("<circle cx=\"\(f(cx(i)))\" cy=\"\(f(y(v)))\" r=\"3\" fill=\"\(colour(j))\"/>")
                }
            }
        }
        let every = count > 40 ? Int((Double(count) / 20).rounded(.up)) : 1
        for i in 0..<count where i % every == 0 {
            let label = i < labels.count ? labels[i] : String(i)
            out.append("<text x=\"\(f(cx(i)))\" y=\"\(f(top + ph + 16))\" font-size=\"10\" text-anchor=\"middle\">\(xmlEscape(label))</text>")
        }
        if legend {
            let lx = left + pw + 12
            for (j, s) in series.enumerated() {
                let ly = top + 4 + 16 * Double(j)
                out.append("<rect x=\"\(f(lx))\" y=\"\(f(ly))\" width=\"10.00\" height=\"10.00\" fill=\"\(colour(j))\"/>")
                out.append("<text x=\"\(f(lx + 14))\" y=\"\(f(ly + 9))\" font-size=\"10\" text-anchor=\"start\">\(xmlEscape(s.name))</text>")
            }
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// Coordinates with two decimals, never `-0.00`.
    private static func f(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return String(format: "%.2f", r == 0 ? 0 : r)
    }

    private static func tickLabel(_ v: Double) -> String {
        let r = (v * 1e6).rounded() / 1e6
        return String(format: "%.3g", r == 0 ? 0 : r)
    }

    static func xmlEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// A chart value: `plot(values)` makes one, `plot({dense: xs, pruned: ys})` a grouped one.
/// `f.svg` is the SVG; in a terminal it shows as a text bar chart.
public final class Figure: HostObject {
    public let kind: SVGChart.Kind
    public let title: String
    public let labels: [String]
    /// One unnamed series for a plain chart; the named series of a grouped one.
    public let series: [ChartSeries]
    /// Drawn with a legend, one colour per series (also when it holds a single series).
    public let isGrouped: Bool
    public let svg: String

    public init(kind: SVGChart.Kind, values: [Double], labels: [String], title: String) {
        self.kind = kind; self.labels = labels; self.title = title
        series = [ChartSeries(name: "", values: values)]
        isGrouped = false
        svg = SVGChart.render(kind: kind, values: values, labels: labels, title: title)
    }

    /// A grouped chart: each series has a value per label (grouped bars, or one line each).
    public init(grouped: [(name: String, values: [Double])], labels: [String], title: String, kind: SVGChart.Kind = .bar) {
        self.kind = kind; self.labels = labels; self.title = title
        series = grouped.map { ChartSeries(name: $0.name, values: $0.values) }
        isGrouped = true
        svg = SVGChart.renderGrouped(kind: kind, series: series, labels: labels, title: title)
    }

    /// A plain chart's values; a grouped chart's series one after another.
    public var values: [Double] { series.flatMap(\.values) }

    public var typeName: String { "figure" }
    public var summary: String {
        let what = isGrouped ? "grouped \(kind.rawValue) chart" : "\(kind.rawValue) chart"
        let size = isGrouped ? "\(series.count) series × \(series.map(\.values.count).max() ?? 0) values" : "\(values.count) values"
        return "<figure: \(what)" + (title.isEmpty ? "" : " \(quoted(title))") + ", \(size)>"
    }
    public var fieldNames: [String] { ["kind", "labels", "series", "svg", "title", "values"] }

    /// `values` is a list of numbers, or for a grouped chart a list per series; `series` the
    /// series' names (empty for a plain chart).
    public func field(_ name: String) -> Value? {
        switch name {
        case "kind": return .string(kind.rawValue)
        case "title": return .string(title)
        case "svg": return .string(svg)
        case "values":
            if isGrouped { return .list(series.map { .list($0.values.map(Value.float)) }) }
            return .list(values.map(Value.float))
        case "series": return .list(isGrouped ? series.map { .string($0.name) } : [])
        case "labels": return .list(labels.map(Value.string))
        default: return nil
        }
    }

    public func render(_ options: DisplayOptions) -> String {
        let chart = isGrouped
            ? BarChart.renderGrouped(series: series, labels: labels, width: options.barWidth, unicode: options.terminal)
            : BarChart.render(values: values, labels: labels, width: options.barWidth, unicode: options.terminal)
        return title.isEmpty ? chart : title + "\n" + chart
    }
}
