// The table value: named columns and rows of values, rendered with aligned columns — Unicode
// box drawing in a terminal, a Markdown table otherwise. Numeric columns align right, and
// floats print with fixed precision, so renderings are stable across runs.

import Foundation

public final class Table: HostObject {
    public let columns: [String]
    public let rows: [[Value]]

    /// Rows shorter than `columns` are padded with none; longer ones are cut.
    public init(columns: [String], rows: [[Value]]) {
        self.columns = columns
        self.rows = rows.map { r in
            r.count >= columns.count ? Array(r.prefix(columns.count)) : r + Array(repeating: .none, count: columns.count - r.count)
        }
    }

    public var typeName: String { "table" }
    public var summary: String { "<table: \(columns.count) columns, \(rows.count) rows>" }

    /// `columns`, `rows`, `nrows`, and each column by name (a list of its values).
    public var fieldNames: [String] {
        ["columns", "nrows", "rows"] + columns.filter { isIdentifier($0) && !["columns", "nrows", "rows"].contains($0) }
    }

    public func field(_ name: String) -> Value? {
        switch name {
        case "columns": return .list(columns.map(Value.string))
        case "rows": return .list(rows.map(Value.list))
        case "nrows": return .int(rows.count)
        default:
            guard let k = columns.firstIndex(of: name) else { return nil }
            return .list(rows.map { $0[k] })
        }
    }

    public func render(_ options: DisplayOptions) -> String {
        options.terminal ? boxed() : markdown()
    }

    static func cell(_ v: Value) -> String {
        switch v {
        case .none: return ""
        case .int(let i): return String(i)
        case .float(let d): return formatNumber(d)
        case .string(let s): return s.replacingOccurrences(of: "\n", with: "\\n")
        default: return v.repr
        }
    }

    private var layout: (cells: [[String]], widths: [Int], right: [Bool]) {
        let cells = rows.map { $0.map(Table.cell) }
        let widths = columns.indices.map { k in max(columns[k].count, cells.map { $0[k].count }.max() ?? 0) }
        let right = columns.indices.map { k in
            rows.contains { $0[k].number != nil } && rows.allSatisfy { r in r[k].number != nil || { if case .none = r[k] { return true }; return false }() }
        }
        return (cells, widths, right)
    }

    private func align(_ s: String, _ width: Int, _ right: Bool) -> String {
        right ? padLeft(s, width) : padRight(s, width)
    }

    /// `| a | b |` rows under a `| --- | ---: |` alignment row; `|` in cells is escaped.
    public func markdown() -> String {
        guard !columns.isEmpty else { return "(empty table)" }
        let (cells, widths0, right) = layout
        let escaped = cells.map { $0.map { $0.replacingOccurrences(of: "|", with: "\\|") } }
        let widths = columns.indices.map { k in max(3, widths0[k], escaped.map { $0[k].count }.max() ?? 0) }
        func line(_ parts: [String]) -> String {
            "| " + parts.enumerated().map { align($0.element, widths[$0.offset], right[$0.offset]) }.joined(separator: " | ") + " |"
        }
        var out = [line(columns)]
        out.append("| " + columns.indices.map { k in
            right[k] ? String(repeating: "-", count: widths[k] - 1) + ":" : String(repeating: "-", count: widths[k])
        }.joined(separator: " | ") + " |")
        out += escaped.map(line)
        return out.joined(separator: "\n")
    }

    /// Box drawing: ┌─┬─┐ above, a rule under the header, └─┴─┘ below.
    public func boxed() -> String {
        guard !columns.isEmpty else { return "(empty table)" }
        let (cells, widths, right) = layout
        func rule(_ l: String, _ m: String, _ r: String) -> String {
            l + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: m) + r
        }
        func line(_ parts: [String]) -> String {
            "│ " + parts.enumerated().map { align($0.element, widths[$0.offset], right[$0.offset]) }.joined(separator: " │ ") + " │"
        }
        var out = [rule("┌", "┬", "┐"), line(columns), rule("├", "┼", "┤")]
        out += cells.map(line)
        out.append(rule("└", "┴", "┘"))
        return out.joined(separator: "\n")
    }
}
