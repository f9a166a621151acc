// The general builtins on values: len, range, min/max/sum, argmin/argmax, sort, zip,
// enumerate, round, abs, exp/log/sqrt, str/int/float, type, keys/values, join/split,
// append, reverse. Each is one declaration; their help texts appear in language.md.

import Foundation

/// All the language's own builtins, in the order `help()` and the reference list them.
func generalBuiltins() -> [BuiltinSpec] {
    valueBuiltins() + ioBuiltins()
}

private func fail(_ message: String, _ argument: String? = nil, id: String = ErrorID.invalidArgument,
                  hint: String? = nil) -> ScriptError {
    ScriptError(message, id: id, hint: hint, argument: argument)
}

/// The items of `min(xs)` or `min(a, b, c)`.
private func operands(_ args: BoundArguments, _ name: String) throws -> [Value] {
    let given = try args.list("values")
    if given.count == 1, let inner = given[0].elements { return inner }
    if given.count == 1 {
        throw fail("`\(name)` needs a list or several values, got one \(given[0].typeName)", "values")
    }
    return given
}

private func extreme(_ args: BoundArguments, _ name: String, wantLess: Bool) throws -> Value {
    let xs = try operands(args, name)
    guard var best = xs.first else { throw fail("`\(name)` of an empty list", "values") }
    for x in xs.dropFirst() {
        guard let c = Value.compare(x, best) else {
            throw fail("`\(name)` cannot compare \(x.typeName) and \(best.typeName)", "values", id: ErrorID.unsupportedOperands)
        }
        if wantLess ? c < 0 : c > 0 { best = x }
    }
    return best
}

private func argExtreme(_ args: BoundArguments, _ name: String, wantLess: Bool) throws -> Value {
    let xs = try args.doubles("values")
    var best: Int?
    for (i, x) in xs.enumerated() where !x.isNaN {
        if let b = best { if wantLess ? x < xs[b] : x > xs[b] { best = i } } else { best = i }
    }
    guard let best else { throw fail("`\(name)` of an empty list", "values") }
    return .int(best)
}

private func math(_ name: String, _ help: String, _ f: @escaping (Double) throws -> Double) -> BuiltinSpec {
    BuiltinSpec(name, [ParamSpec("x", .number)], returns: .float, logged: false, help: help) { a, _ in
        .float(try f(try a.double("x")))
    }
}

func valueBuiltins() -> [BuiltinSpec] {
    [
        BuiltinSpec("len", [ParamSpec("value", .iterable)], returns: .int, logged: false,
                    help: "The number of items in a list or range, characters in a string, or fields in a record.") { a, _ in
            switch a["value"] {
            case .list(let xs): return .int(xs.count)
            case .string(let s): return .int(s.count)
            case .record(let r): return .int(r.count)
            case .range(let r): return .int(r.count)
            default: return .int(0)
            }
        },
        BuiltinSpec("range", [ParamSpec("start", .int, help: "the first integer, or the stop if it is the only argument"),
                              ParamSpec("stop", .optional(.int), default: .none, help: "the integer to stop before"),
                              ParamSpec("step", .int, default: .int(1), help: "the distance between integers; not zero")],
                    returns: .range, logged: false,
                    help: "The integers from start up to but not including stop: `range(3)` is 0, 1, 2;\n`range(2, 8, 3)` is 2, 5. `a..b` is `range(a, b)`.") { a, _ in
            let step = try a.int("step")
            guard step != 0 else { throw fail("`range` step cannot be zero", "step") }
            if let stop = try a.optionalInt("stop") {
                return .range(RangeValue(start: try a.int("start"), stop: stop, step: step))
            }
            return .range(RangeValue(start: 0, stop: try a.int("start"), step: step))
        },
        BuiltinSpec("min", [.variadic("values", help: "one list, or several values")], returns: .any, logged: false,
                    help: "The smallest of the values: `min(xs)` or `min(a, b, c)`. Numbers, strings and lists compare.") { a, _ in
            try extreme(a, "min", wantLess: true)
        },
        BuiltinSpec("max", [.variadic("values", help: "one list, or several values")], returns: .any, logged: false,
                    help: "The largest of the values: `max(xs)` or `max(a, b, c)`.") { a, _ in
            try extreme(a, "max", wantLess: false)
        },
        BuiltinSpec("sum", [ParamSpec("values", .listOf(.number)), ParamSpec("start", .number, default: .int(0))],
                    returns: .number, logged: false,
                    help: "start plus the numbers of the list; an int while every item is an int.") { a, _ in
            var acc = a["start"]
            for x in try a.list("values") {
                switch Operators.binary(.add, acc, x) {
                case .success(let v): acc = v
                case .failure(let e): throw fail(e.message, "values", id: e.id, hint: e.hint)
                }
            }
            return acc
        },
        BuiltinSpec("argmin", [ParamSpec("values", .listOf(.number))], returns: .int, logged: false,
                    help: "The index of the smallest number (the first, if several are equal); nan is skipped.") { a, _ in
            try argExtreme(a, "argmin", wantLess: true)
        },
        BuiltinSpec("argmax", [ParamSpec("values", .listOf(.number))], returns: .int, logged: false,
                    help: "The index of the largest number (the first, if several are equal); nan is skipped.") { a, _ in
            try argExtreme(a, "argmax", wantLess: false)
        },
        BuiltinSpec("sort", [ParamSpec("values", .list),
                             ParamSpec("key", .optional(.function), default: .none, help: "a fn of one item giving what to compare"),
                             ParamSpec("reverse", .bool, default: .bool(false), help: "largest first")],
                    returns: .list, logged: false,
                    help: "A sorted copy of the list. Equal items keep their order.") { a, ctx in
            let xs = try a.list("values")
            let keys: [Value]
            if a.isNone("key") { keys = xs } else { keys = try xs.map { try ctx.call(a["key"], [$0]) } }
            let reverse = try a.bool("reverse")
            var failure: ScriptError?
            let order = xs.indices.sorted { i, j in
                guard let c = Value.compare(keys[i], keys[j]) else {
                    let names = [keys[i].typeName, keys[j].typeName].sorted()
                    failure = failure ?? fail("`sort` cannot compare \(names[0]) and \(names[1])", "values",
                                              id: ErrorID.unsupportedOperands)
                    return i < j
                }
                if c == 0 { return i < j }
                return reverse ? c > 0 : c < 0
            }
            if let failure { throw failure }
            return .list(order.map { xs[$0] })
        },
        BuiltinSpec("reverse", [ParamSpec("values", .oneOf([.list, .range, .string]))], returns: .oneOf([.list, .string]),
                    logged: false, help: "The items in the opposite order (a string's characters reversed).") { a, _ in
            if case .string(let s) = a["values"] { return .string(String(s.reversed())) }
            return .list(try a.list("values").reversed())
        },
        BuiltinSpec("zip", [.variadic("lists", .oneOf([.list, .range]))], returns: .listOf(.list), logged: false,
                    help: "Lists of the i-th items of each list, as long as the shortest: `zip([1, 2], [\"a\", \"b\"])`\nis `[[1, \"a\"], [2, \"b\"]]`.") { a, _ in
            let lists = try a.list("lists").map { $0.elements ?? [] }
            let n = lists.map(\.count).min() ?? 0
            return .list((0..<n).map { i in .list(lists.map { $0[i] }) })
        },
        BuiltinSpec("enumerate", [ParamSpec("values", .oneOf([.list, .range, .string])), ParamSpec("start", .int, default: .int(0))],
                    returns: .listOf(.list), logged: false,
                    help: "Pairs `[index, item]`, counting from start: `for i, x in enumerate(xs) { }`.") { a, _ in
            let start = try a.int("start")
            let items: [Value]
            if case .string(let s) = a["values"] { items = s.map { .string(String($0)) } } else { items = try a.list("values") }
            return .list(items.enumerated().map { .list([.int(start + $0.offset), $0.element]) })
        },
        BuiltinSpec("round", [ParamSpec("x", .number), ParamSpec("digits", .optional(.int), default: .none)],
                    returns: .number, logged: false,
                    help: "x rounded to the nearest int, or to `digits` decimals (a float). Halves round to even,\nas in Python: `round(2.5)` is 2.") { a, _ in
            if case .int(let i) = a["x"], a.isNone("digits") { return .int(i) }
            let x = try a.double("x")
            if let digits = try a.optionalInt("digits") {
                let scale = Foundation.pow(10.0, Double(digits))
                return .float((x * scale).rounded(.toNearestOrEven) / scale)
            }
            let r = x.rounded(.toNearestOrEven)
            guard r.isFinite, abs(r) < 9.2e18 else { throw fail("cannot round \(formatFloat(x)) to an int", "x") }
            return .int(Int(r))
        },
        BuiltinSpec("abs", [ParamSpec("x", .number)], returns: .number, logged: false,
                    help: "The absolute value of x (an int stays an int).") { a, _ in
            if case .int(let i) = a["x"] {
                guard i != Int.min else { throw fail("integer overflow in `abs`", "x", id: ErrorID.integerOverflow) }
                return .int(Swift.abs(i))
            }
            return .float(Swift.abs(try a.double("x")))
        },
        math("exp", "e raised to the power x.") { Foundation.exp($0) },
        BuiltinSpec("log", [ParamSpec("x", .number), ParamSpec("base", .optional(.number), default: .none)],
                    returns: .float, logged: false,
                    help: "The natural logarithm of x, or the logarithm to `base`.") { a, _ in
            let x = try a.double("x")
            guard x > 0 else { throw fail("`log` needs a positive number, got \(formatNumberPlain(a["x"]))", "x") }
            if let base = try a.optionalDouble("base") {
                guard base > 0, base != 1 else { throw fail("`log` base must be positive and not 1", "base") }
                return .float(Foundation.log(x) / Foundation.log(base))
            }
            return .float(Foundation.log(x))
        },
        math("sqrt", "The square root of x; x must not be negative.") { x in
            guard x >= 0 else { throw fail("`sqrt` of a negative number", "x") }
            return x.squareRoot()
        },
        BuiltinSpec("str", [ParamSpec("value")], returns: .string, logged: false,
                    help: "The value as text, as `print` shows it: a string unchanged, others as written.") { a, _ in
            .string(a["value"].description)
        },
        BuiltinSpec("int", [ParamSpec("value", .oneOf([.number, .string, .bool]))], returns: .int, logged: false,
                    help: "An int from a float (cut toward zero), a string of digits, or a bool (0 or 1).") { a, _ in
            switch a["value"] {
            case .int(let i): return .int(i)
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d):
                guard d.isFinite, abs(d) < 9.2e18 else { throw fail("cannot convert \(formatFloat(d)) to int", "value", id: ErrorID.invalidValue) }
                return .int(Int(d))
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces)
                guard let i = Int(t.hasPrefix("+") ? String(t.dropFirst()) : t) else {
                    throw fail("cannot convert \(quoted(s)) to int", "value", id: ErrorID.invalidValue)
                }
                return .int(i)
            default: return .none
            }
        },
        BuiltinSpec("float", [ParamSpec("value", .oneOf([.number, .string, .bool]))], returns: .float, logged: false,
                    help: "A float from an int, a string (`\"2.5\"`, `\"1e-3\"`, `\"nan\"`) or a bool.") { a, _ in
            switch a["value"] {
            case .bool(let b): return .float(b ? 1 : 0)
            case .string(let s):
                guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else {
                    throw fail("cannot convert \(quoted(s)) to float", "value", id: ErrorID.invalidValue)
                }
                return .float(d)
            default: return .float(try a.double("value"))
            }
        },
        BuiltinSpec("type", [ParamSpec("value")], returns: .string, logged: false,
                    help: "The name of the value's type: \"int\", \"list\", \"record\", \"model\", ...") { a, _ in
            .string(a["value"].typeName)
        },
        BuiltinSpec("keys", [ParamSpec("record", .record)], returns: .listOf(.string), logged: false,
                    help: "The record's field names, in order.") { a, _ in
            .list(try a.record("record").keys.map(Value.string))
        },
        BuiltinSpec("values", [ParamSpec("record", .record)], returns: .list, logged: false,
                    help: "The record's field values, in order.") { a, _ in
            .list(try a.record("record").fields.map(\.value))
        },
        BuiltinSpec("join", [ParamSpec("values", .list), ParamSpec("sep", .string, default: .string(""))],
                    returns: .string, logged: false,
                    help: "The items as text (as `str` gives it), with sep between: `join([1, 2], \", \")` is \"1, 2\".") { a, _ in
            .string(try a.list("values").map(\.description).joined(separator: try a.string("sep")))
        },
        BuiltinSpec("split", [ParamSpec("text", .string), ParamSpec("sep", .optional(.string), default: .none)],
                    returns: .listOf(.string), logged: false,
                    help: "The parts of text between occurrences of sep; without sep, the words between runs of\nwhitespace.") { a, _ in
            let text = try a.string("text")
            guard let sep = try a.optionalString("sep") else {
                return .list(text.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
            }
            guard !sep.isEmpty else { throw fail("`split` separator cannot be empty", "sep") }
            return .list(text.components(separatedBy: sep).map(Value.string))
        },
        BuiltinSpec("append", [ParamSpec("values", .list), ParamSpec("item")], returns: .list, logged: false,
                    help: "A copy of the list with item added at the end: `xs = append(xs, x)`.") { a, _ in
            .list(try a.list("values") + [a["item"]])
        },
    ]
}

/// An int or float as the user wrote it, for messages.
func formatNumberPlain(_ v: Value) -> String {
    switch v {
    case .int(let i): return String(i)
    case .float(let d): return formatFloat(d)
    default: return v.repr
    }
}
