// Charts: a horizontal bar chart in text (per-layer scores in a terminal) and SVG bar and
// line charts for notebooks. Output is deterministic — fixed number formatting, no
// timestamps, no randomness — so the same values give byte-identical text.

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
            let cells = v.isFinite && scale > 0 ? abs(v) / scale * Double(width) : 0
            var bar: String
            if unicode {
                let eighths = Int((cells * 8).rounded())
                bar = String(repeating: "█", count: eighths / 8)
                if eighths % 8 > 0 { bar.append(partials[eighths % 8 - 1]) }
            } else {
                bar = String(repeating: "#", count: Int(cells.rounded()))
            }
            lines.append(padLeft(labels[k], labelWidth) + separator + padRight(bar, width) + " " + padLeft(texts[k], valueWidth))
        }
        return lines.joined(separator: "\n")
    }
}

public enum SVGChart {
    public enum Kind: String, CaseIterable, Sendable {
        case bar, line
    }

    /// A `width`×`height` SVG: title, y axis with five ticks, bars or a polyline with points,
    /// and the labels under the x axis (thinned to at most 20 when there are more than 40).
    public static func render(kind: Kind, values: [Double], labels: [String], title: String,
                              width: Int = 640, height: Int = 360) -> String {
        let left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let pw = Double(width) - left - right, ph = Double(height) - top - bottom
        let finite = values.filter(\.isFinite)
        var lo = min(0, finite.min() ?? 0), hi = max(0, finite.max() ?? 0)
        if lo == hi { hi = lo + 1 }
        func y(_ v: Double) -> Double { top + (hi - v) / (hi - lo) * ph }
        let n = max(values.count, 1)
        let slot = pw / Double(n)
        func cx(_ i: Int) -> Double { left + (Double(i) + 0.5) * slot }

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
            for (i, v) in values.enumerated() where v.isFinite {
                let y0 = y(max(v, 0)), y1 = y(min(v, 0))
                out.append("<rect x=\"\(f(left + Double(i) * slot + slot * 0.1))\" y=\"\(f(y0))\" width=\"\(f(slot * 0.8))\" height=\"\(f(y1 - y0))\" fill=\"#4c72b0\"/>")
            }
        case .line:
            let points = values.enumerated().filter { $0.element.isFinite }.map { "\(f(cx($0.offset))),\(f(y($0.element)))" }
            if !points.isEmpty {
                out.append("<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#4c72b0\" stroke-width=\"2\"/>")
            }
            for (i, v) in values.enumerated() where v.isFinite {
                out.append("<circle cx=\"\(f(cx(i)))\" cy=\"\(f(y(v)))\" r=\"3\" fill=\"#4c72b0\"/>")
            }
        }
        let every = values.count > 40 ? Int((Double(values.count) / 20).rounded(.up)) : 1
        for i in values.indices where i % every == 0 {
            let label = i < labels.count ? labels[i] : String(i)
            out.append("<text x=\"\(f(cx(i)))\" y=\"\(f(top + ph + 16))\" font-size=\"10\" text-anchor=\"middle\">\(xmlEscape(label))</text>")
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

/// A chart value: `plot(values)` makes one. `f.svg` is the SVG; in a terminal it shows as a
/// text bar chart.
public final class Figure: HostObject {
    public let kind: SVGChart.Kind
    public let title: String
    public let values: [Double]
    public let labels: [String]
    public let svg: String

    public init(kind: SVGChart.Kind, values: [Double], labels: [String], title: String) {
        self.kind = kind; self.values = values; self.labels = labels; self.title = title
        self.svg = SVGChart.render(kind: kind, values: values, labels: labels, title: title)
    }

    public var typeName: String { "figure" }
    public var summary: String {
        "<figure: \(kind.rawValue) chart" + (title.isEmpty ? "" : " \(quoted(title))") + ", \(values.count) values>"
    }
    public var fieldNames: [String] { ["kind", "labels", "svg", "title", "values"] }

    public func field(_ name: String) -> Value? {
        switch name {
        case "kind": return .string(kind.rawValue)
        case "title": return .string(title)
        case "svg": return .string(svg)
        case "values": return .list(values.map(Value.float))
        case "labels": return .list(labels.map(Value.string))
        default: return nil
        }
    }

    public func render(_ options: DisplayOptions) -> String {
        let chart = BarChart.render(values: values, labels: labels, width: options.barWidth, unicode: options.terminal)
        return title.isEmpty ? chart : title + "\n" + chart
    }
}
