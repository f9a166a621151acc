// A source text (a script file or a REPL cell) with its display name and line table. Spans
// in the AST are offsets into it; this file turns them into lines, columns and diagnostics.

public final class Source {
    /// The name diagnostics print (`tutorial.come`, `In[3]`).
    public let file: String
    /// The file on disk this came from, if any; `use` resolves relative paths against its folder.
    public let path: String?
    public let text: String
    let scalars: [Unicode.Scalar]
    /// Offset of the first scalar of each line.
    let lineStarts: [Int]

    public init(file: String, text: String, path: String? = nil) {
        self.file = file
        self.path = path
        self.text = text
        self.scalars = Array(text.unicodeScalars)
        var starts = [0]
        for (i, s) in scalars.enumerated() where s == "\n" { starts.append(i + 1) }
        self.lineStarts = starts
    }

    /// 1-based line and column of a scalar offset.
    func location(_ offset: Int) -> (line: Int, column: Int) {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return (lo + 1, offset - lineStarts[lo] + 1)
    }

    /// The text of a 1-based line, without its newline (and without a trailing `\r`).
    func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : scalars.count
        if end > start, scalars[end - 1] == "\r" { end -= 1 }
        return String(String.UnicodeScalarView(scalars[start..<max(start, end)]))
    }

    func text(_ span: Span) -> String {
        let lo = max(0, min(span.start, scalars.count)), hi = max(lo, min(span.end, scalars.count))
        return String(String.UnicodeScalarView(scalars[lo..<hi]))
    }

    /// The range of a span, clipped to its first line.
    func range(_ span: Span) -> SourceRange {
        let (line, column) = location(span.start)
        let lineEnd = line < lineStarts.count ? lineStarts[line] - 1 : scalars.count
        let length = max(1, min(span.end, lineEnd) - span.start)
        return SourceRange(file: file, line: line, column: column, length: length)
    }

    func diagnostic(_ id: String, _ message: String, at span: Span, hint: String? = nil) -> Diagnostic {
        let r = range(span)
        return Diagnostic(id: id, message: message, range: r, sourceLine: lineText(r.line), hint: hint)
    }
}
