// The general builtins that reach outside values: print, show, help, assert, time, env,
// script arguments (`arg`), JSON files (`json_read`, `json_write`, atomic), and the
// display constructors `table` and `plot`.

import Foundation

private func fail(_ message: String, _ argument: String? = nil, id: String = ErrorID.invalidArgument,
                  hint: String? = nil) -> ScriptError {
    ScriptError(message, id: id, hint: hint, argument: argument)
}

func ioBuiltins() -> [BuiltinSpec] {
    [
        BuiltinSpec("print", [.variadic("values"), ParamSpec("sep", .string, default: .string(" ")),
                              ParamSpec("end", .string, default: .string("\n"))],
                    returns: .none, logged: false,
                    help: "Writes the values as text (strings without quotes), separated by sep, then end.") { a, ctx in
            let parts = try a.list("values").map(\.description)
            ctx.write(parts.joined(separator: try a.string("sep")) + (try a.string("end")))
            return .none
        },
        BuiltinSpec("show", [ParamSpec("value")], returns: .none, logged: false,
                    help: "Prints the value's full display: a table with its rows, a figure or a list of numbers\nas a bar chart, anything else as a statement's value is shown.") { a, ctx in
            ctx.show(a["value"])
            return .none
        },
        BuiltinSpec("help", [ParamSpec("name", .oneOf([.string, .function, .none]), default: .none,
                                       completer: Completer(inString: true) { p, env in env.builtinNames.filter { $0.hasPrefix(p) } })],
                    returns: .none, logged: false,
                    help: "Prints the help of a builtin (`help(\"len\")` or `help(len)`), or lists all builtins.") { a, ctx in
            ctx.write(try helpText(a, ctx) + "\n")
            return .none
        },
        BuiltinSpec("assert", [ParamSpec("condition", .bool), ParamSpec("message", .string, default: .string(""))],
                    returns: .none, logged: false,
                    help: "Stops with an error (showing message) unless condition is true.") { a, _ in
            if try a.bool("condition") { return .none }
            let m = try a.string("message")
            throw ScriptError(m.isEmpty ? "assertion failed" : "assertion failed: \(m)", id: ErrorID.assertionFailed)
        },
        BuiltinSpec("time", [], returns: .float,
                    help: "Seconds since 1970-01-01 UTC, as a float (subtract two to time something).") { _, _ in
            .float(Date().timeIntervalSince1970)
        },
        BuiltinSpec("env", [ParamSpec("name", .string), ParamSpec("default", .optional(.string), default: .none)],
                    returns: .optional(.string),
                    help: "The environment variable's value, or default when it is not set.") { a, _ in
            if let v = ProcessInfo.processInfo.environment[try a.string("name")] { return .string(v) }
            return a["default"]
        },
        BuiltinSpec("arg", [ParamSpec("name", .string, help: "the option's name, without the leading `--`"),
                            ParamSpec("default", default: .none, help: "its value when not given; its type converts the text")],
                    returns: .any,
                    help: "A script argument given as `--name value` (or `--name=value`) after the script path.\nThe text converts to the default's type (int, float, bool, list of comma-separated\nitems); a bool option may stand alone (`--verbose`). Without a default the option is\nrequired.") { a, ctx in
            try scriptArgument(try a.string("name"), default: a["default"], ctx.scriptArguments)
        },
        BuiltinSpec("json_read", [ParamSpec("path", .string, completer: .files(extensions: ["json"]))],
                    returns: .any, effects: [.readsFiles],
                    help: "The JSON file's content as values: objects become records, arrays lists.") { a, ctx in
            let path = try a.string("path")
            guard let data = FileManager.default.contents(atPath: ctx.resolvePath(path)) else {
                throw fail("cannot read `\(path)`: no such file", "path", id: ErrorID.cannotReadFile)
            }
            do {
                return Value(json: try JSON.parse([UInt8](data)))
            } catch {
                throw fail("invalid JSON in `\(path)`: \(error)", "path", id: ErrorID.invalidJSON)
            }
        },
        BuiltinSpec("json_write", [ParamSpec("value"), ParamSpec("path", .string, completer: .files(extensions: ["json"]))],
                    returns: .none, effects: [.writesFiles],
                    help: "Writes the value (records, lists, numbers, strings, bools, none) as indented JSON.\nThe file is replaced atomically: written beside it, then renamed.") { a, ctx in
            let path = try a.string("path")
            guard let json = a["value"].json else {
                throw fail("JSON cannot hold \(unwritable(a["value"]))", "value", id: ErrorID.invalidJSON)
            }
            let text = try json.serialized(indent: 2) + "\n"
            try writeAtomically(text, to: ctx.resolvePath(path), shown: path)
            return .none
        },
        BuiltinSpec("table", [ParamSpec("rows", .oneOf([.list, .record]),
                                        help: "a list of records, a list of lists, or a record of columns"),
                              ParamSpec("columns", .optional(.listOf(.string)), default: .none,
                                        help: "the column names (the records' keys by default)")],
                    returns: .host("table"),
                    help: "A table value, shown with aligned columns: `table([{layer: 0, score: 0.5}])`.") { a, _ in
            try makeTable(a)
        },
        BuiltinSpec("plot", [ParamSpec("values", .oneOf([.listOf(.number), .listOf(.listOf(.number)), .record]),
                                       help: "numbers, or several series: a record of lists (named by its keys) or a list of lists"),
                             ParamSpec("kind", .string, default: .string("bar"), completer: .choices(SVGChart.Kind.allCases.map(\.rawValue)),
                                       help: "\"bar\" or \"line\""),
                             ParamSpec("title", .string, default: .string("")),
                             ParamSpec("labels", .optional(.list), default: .none, help: "one per value; the indices by default")],
                    returns: .host("figure"),
                    help: "A figure of the numbers: `f.svg` is an SVG chart (deterministic), and in a terminal it\nshows as a bar chart. Several series over the same labels, `plot({dense: xs, pruned: ys},\nlabels=tasks)`, give grouped bars (or one line each) with a legend.") { a, _ in
            guard let kind = SVGChart.Kind(rawValue: try a.string("kind")) else {
                throw fail("`kind` must be \"bar\" or \"line\", got \(quoted(try a.string("kind")))", "kind")
            }
            let series = try plotSeries(a)
            let count = try series?.first?.values.count ?? a.list("values").count
            var labels = (0..<count).map(String.init)
            if !a.isNone("labels") {
                let given = try a.list("labels")
                guard given.count == count else {
                    throw fail("`plot` has \(count) values\(series == nil ? "" : " per series") but \(given.count) labels", "labels")
                }
                labels = given.map(\.description)
            }
            if let series {
                return .host(Figure(grouped: series, labels: labels, title: try a.string("title"), kind: kind))
            }
            return .host(Figure(kind: kind, values: try a.doubles("values"), labels: labels, title: try a.string("title")))
        },
    ]
}

/// The series of a grouped `plot`: a record's fields by name, or a list of lists named
/// "0", "1", ...; nil for a plain list of numbers.
private func plotSeries(_ a: BoundArguments) throws -> [(name: String, values: [Double])]? {
    var series: [(name: String, values: [Double])] = []
    switch a["values"] {
    case .record(let r):
        for (key, v) in r.fields {
            guard let xs = v.elements else { throw fail("`plot` series `\(key)` must be a list of numbers, got \(v.typeName)", "values") }
            series.append((key, try numbers(xs, key)))
        }
    case .list(let xs) where !xs.isEmpty && xs.allSatisfy({ $0.elements != nil }):
        for (k, v) in xs.enumerated() { series.append((String(k), try numbers(v.elements!, String(k)))) }
    default:
        return nil
    }
    guard !series.isEmpty else { throw fail("`plot` of a record with no series", "values") }
    if let bad = series.first(where: { $0.values.count != series[0].values.count }) {
        throw fail("`plot` series differ in length: `\(series[0].name)` has \(series[0].values.count) values, `\(bad.name)` \(bad.values.count)", "values")
    }
    return series
}

private func numbers(_ xs: [Value], _ series: String) throws -> [Double] {
    try xs.map {
        guard let d = $0.number else { throw fail("`plot` series `\(series)` must hold numbers, found \($0.typeName)", "values") }
        return d
    }
}

private func helpText(_ a: BoundArguments, _ ctx: CallContext) throws -> String {
    let b = ctx.builtins
    switch a["name"] {
    case .none:
        var categories: [String] = []
        for spec in b.all where !categories.contains(spec.category) { categories.append(spec.category) }
        let lines = categories.map { c in "\(c): " + b.all.filter { $0.category == c }.map(\.name).sorted().joined(separator: ", ") }
        return (lines + ["help(\"name\") shows one."]).joined(separator: "\n")
    case .builtin(let n):
        return b.helpText(n) ?? n
    case .function(let f):
        return "fn \(f.signature)"
    case .string(let n):
        if let t = b.helpText(n) { return t }
        if case .function(let f)? = ctx.interpreter.lookup(n) { return "fn \(f.signature)" }
        let guess = closestMatch(n, among: b.names)
        throw fail("no builtin named `\(n)`", "name", hint: guess.map { "did you mean `\($0)`?" })
    default:
        return a["name"].repr
    }
}

/// What in a value keeps it out of JSON: "a function", "nan".
private func unwritable(_ v: Value) -> String {
    switch v {
    case .function, .builtin: return "a function"
    case .host(let h): return "a \(h.typeName)"
    case .float(let d): return formatFloat(d)
    case .list(let xs): return xs.first { $0.json == nil }.map(unwritable) ?? "this value"
    case .record(let r): return r.fields.first { $0.value.json == nil }.map { unwritable($0.value) } ?? "this value"
    default: return "this value"
    }
}

/// Writes to a temporary file in the same folder, then renames it over the target, so a
/// reader sees the old file or the new one, never half of one.
func writeAtomically(_ text: String, to path: String, shown: String) throws {
    let url = URL(fileURLWithPath: path)
    let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
        try Data(text.utf8).write(to: temp)
    } catch {
        throw fail("cannot write `\(shown)`: \(describe(error))", "path", id: ErrorID.cannotWriteFile)
    }
    guard rename(temp.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temp)
        throw fail("cannot write `\(shown)`: \(reason)", "path", id: ErrorID.cannotWriteFile)
    }
}

// MARK: Script arguments

/// `--name value`, `--name=value`, or a lone `--name` (true) for a bool option; the last
/// occurrence wins.
private func scriptArgument(_ name: String, default value: Value, _ argv: [String]) throws -> Value {
    let flag = "--" + name
    var raw: String?
    var bare = false
    var k = 0
    while k < argv.count {
        let w = argv[k]
        if w == flag {
            if k + 1 < argv.count, !argv[k + 1].hasPrefix("--") {
                raw = argv[k + 1]; bare = false; k += 2; continue
            }
            raw = nil; bare = true
        } else if w.hasPrefix(flag + "=") {
            raw = String(w.dropFirst(flag.count + 1)); bare = false
        }
        k += 1
    }
    func bad(_ expected: String, _ text: String) -> ScriptError {
        ScriptError("script argument `\(flag)` must be \(expected), got \(quoted(text))", id: ErrorID.scriptArgument)
    }
    if bare {
        if case .bool = value { return .bool(true) }
        if case .none = value { return .bool(true) }
        throw ScriptError("script argument `\(flag)` needs a value", id: ErrorID.scriptArgument,
                          hint: "write `\(flag) VALUE` after the script path")
    }
    guard let text = raw else {
        if case .none = value {
            throw ScriptError("missing script argument `\(flag)`", id: ErrorID.scriptArgument,
                              hint: "pass `\(flag) VALUE` after the script path, or give `arg` a default")
        }
        return value
    }
    func convert(_ text: String, like example: Value) throws -> Value {
        switch example {
        case .int:
            guard let i = Int(text) else { throw bad("an int", text) }
            return .int(i)
        case .float:
            guard let d = Double(text) else { throw bad("a number", text) }
            return .float(d)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1", "on": return .bool(true)
            case "false", "no", "0", "off": return .bool(false)
            default: throw bad("true or false", text)
            }
        case .list(let xs):
            let parts = text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            if let first = xs.first { return .list(try parts.map { try convert($0, like: first) }) }
            return .list(parts.map { p in Int(p).map(Value.int) ?? Double(p).map(Value.float) ?? .string(p) })
        default:
            return .string(text)
        }
    }
    return try convert(text, like: value)
}

// MARK: Tables

private func makeTable(_ a: BoundArguments) throws -> Value {
    let given = try (a.isNone("columns") ? nil : a.list("columns").map(\.description))
    if case .record(let r) = a["rows"] {
        let columns = given ?? r.keys
        let lists = try columns.map { c -> [Value] in
            guard let v = r[c] else { throw fail("the record has no column `\(c)`", "columns") }
            guard let xs = v.elements else { throw fail("column `\(c)` must be a list, got \(v.typeName)", "rows") }
            return xs
        }
        let n = lists.map(\.count).max() ?? 0
        let rows = (0..<n).map { i in lists.map { i < $0.count ? $0[i] : .none } }
        return .host(Table(columns: columns, rows: rows))
    }
    let rows = try a.list("rows")
    if rows.allSatisfy({ if case .record = $0 { return true }; return false }) {
        var columns = given ?? []
        if given == nil {
            for case .record(let r) in rows { for k in r.keys where !columns.contains(k) { columns.append(k) } }
        }
        let cells = rows.map { row -> [Value] in
            guard case .record(let r) = row else { return [] }
            return columns.map { r[$0] ?? .none }
        }
        return .host(Table(columns: columns, rows: cells))
    }
    guard let columns = given else {
        throw fail("`table` needs `columns` when the rows are lists", "rows",
                   hint: "table(rows, columns=[\"a\", \"b\"]), or give the rows as records")
    }
    let cells = try rows.map { row -> [Value] in
        guard let xs = row.elements else { throw fail("each row must be a list or a record, got \(row.typeName)", "rows") }
        return xs
    }
    return .host(Table(columns: columns, rows: cells))
}
