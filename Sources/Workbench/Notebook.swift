// `come run FILE.come --notebook OUT.md`: the run as a Markdown notebook. Each statement
// (or each block between `# %%` markers) is a code cell followed by its printed output and
// displayed value; `#:` comment lines become prose; figures are written as SVG files beside
// OUT.md with stable names (<out>-fig<N>.svg) and embedded as images. Output is
// deterministic: the same run gives the same bytes, timings aside (`--no-timings`).
import Checkpoints
import Foundation
import Script

public final class NotebookRecorder: OutputSink {
    public struct Cell {
        public var source: String
        public var output = ""
        public var figures: [Figure] = []
        public var elapsed = 0.0
        public var status = StatementStatus.ok
    }
    public private(set) var cells: [Cell] = []
    let options = DisplayOptions(terminal: false)
    let renderDiagnostic: (Diagnostic) -> String

    public init(renderDiagnostic: @escaping (Diagnostic) -> String) { self.renderDiagnostic = renderDiagnostic }

    public func statementWillRun(cell: Int, source: String) { cells.append(Cell(source: source)) }
    public func statementDidRun(cell: Int, status: StatementStatus, elapsed: Double) {
        guard !cells.isEmpty else { return }
        cells[cells.count - 1].elapsed = elapsed
        cells[cells.count - 1].status = status
    }
    public func write(_ text: String) {
        if cells.isEmpty { cells.append(Cell(source: "")) }
        cells[cells.count - 1].output += text
    }
    public func display(_ value: Value, cell: Int) {
        if case .host(let h) = value, let f = h as? Figure {
            if cells.isEmpty { cells.append(Cell(source: "")) }
            cells[cells.count - 1].figures.append(f)
        } else if case .host(let h) = value, let c = h as? FigureCarrying {
            write(value.display(options) + "\n")
            cells[cells.count - 1].figures += c.figures
        } else {
            write(value.display(options) + "\n")
        }
    }
    public func report(_ diagnostic: Diagnostic) { write(renderDiagnostic(diagnostic) + "\n") }
}

public enum NotebookRenderer {
    /// The Markdown text and the SVG files (name → contents) of a recorded run of `scriptText`.
    public static func render(scriptName: String, scriptText: String, cells: [NotebookRecorder.Cell],
                              outputName: String, timings: Bool) -> (markdown: String, figures: [(String, String)]) {
        let lines = scriptText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let useMarkers = lines.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("# %%") }
        // Where each statement begins in the file: statements are verbatim substrings, found in order.
        var offsets: [Int] = []
        var searchFrom = scriptText.startIndex
        for c in cells {
            if let r = scriptText.range(of: c.source, range: searchFrom..<scriptText.endIndex), !c.source.isEmpty {
                offsets.append(scriptText.distance(from: scriptText.startIndex, to: r.lowerBound))
                searchFrom = r.upperBound
            } else {
                offsets.append(scriptText.distance(from: scriptText.startIndex, to: searchFrom))
            }
        }
        // Line starts, to tell which prose lines and markers come before each statement.
        var lineStart: [Int] = []
        var pos = 0
        for l in lines { lineStart.append(pos); pos += l.count + 1 }
        func lineOf(_ offset: Int) -> Int { (lineStart.lastIndex { $0 <= offset }) ?? 0 }

        var md = ""
        var figures: [(String, String)] = []
        var nextLine = 0
        var open: (code: [String], output: String, figs: [Figure], elapsed: Double)? = nil
        func flush() {
            guard let o = open else { return }
            md += "```come\n" + o.code.joined(separator: "\n") + "\n```\n\n"
            if !o.output.isEmpty { md += "```text\n" + o.output + (o.output.hasSuffix("\n") ? "" : "\n") + "```\n\n" }
            for f in o.figs {
                let name = "\(outputName)-fig\(figures.count + 1).svg"
                figures.append((name, f.svg))
                md += "![\(f.title.isEmpty ? "figure \(figures.count)" : f.title)](\(name))\n\n"
            }
            if timings { md += "<sub>\(String(format: "%.2f", o.elapsed)) s</sub>\n\n" }
            open = nil
        }
        func prose(upTo line: Int) {
            var paragraph: [String] = []
            while nextLine < min(line, lines.count) {
                let t = lines[nextLine].trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("#:") {
                    flushIfMarkers()
                    paragraph.append(String(t.dropFirst(2)).trimmingCharacters(in: CharacterSet(charactersIn: " ")))
                } else {
                    if !paragraph.isEmpty { md += paragraph.joined(separator: "\n") + "\n\n"; paragraph = [] }
                    if t.hasPrefix("# %%") { flush() }
                }
                nextLine += 1
            }
            if !paragraph.isEmpty { md += paragraph.joined(separator: "\n") + "\n\n" }
        }
        func flushIfMarkers() { if useMarkers { flush() } }
        md += "# \(scriptName)\n\n"
        for (i, c) in cells.enumerated() {
            let startLine = lineOf(offsets[i])
            prose(upTo: startLine)
            let stmtLines = c.source.split(separator: "\n", omittingEmptySubsequences: false).count
            nextLine = max(nextLine, startLine + stmtLines)
            if !useMarkers { flush() }
            if open == nil { open = ([], "", [], 0) }
            if !c.source.isEmpty { open!.code.append(c.source) }
            open!.output += c.output
            open!.figs += c.figures
            open!.elapsed += c.elapsed
        }
        prose(upTo: lines.count)
        flush()
        return (md, figures)
    }

    /// Writes OUT.md and its figures (each through a temporary name, then renamed).
    public static func write(markdown: String, figures: [(String, String)], to out: URL) throws {
        let dir = out.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, svg) in figures { try atomicWrite(svg, to: dir.appendingPathComponent(name)) }
        try atomicWrite(markdown, to: out)
    }

    static func atomicWrite(_ text: String, to url: URL) throws {
        try AtomicFile.write(url, data: Data(text.utf8))
    }
}
