// The operators on values: arithmetic (64-bit ints with overflow checks, floats, Python's
// floor division and modulo), comparison, `in`, indexing and slicing (negative indices,
// Python's slice rules). Errors come back as `ScriptError`s; the interpreter places them.

import Foundation

enum Operators {
    typealias Outcome = Result<Value, ScriptError>

    private static func unsupported(_ op: String, _ a: Value, _ b: Value, hint: String? = nil) -> Outcome {
        .failure(ScriptError("cannot apply `\(op)` to \(a.typeName) and \(b.typeName)", id: ErrorID.unsupportedOperands, hint: hint))
    }

    private static func overflow(_ op: String) -> Outcome {
        .failure(ScriptError("integer overflow in `\(op)`", id: ErrorID.integerOverflow,
                             hint: "ints are 64-bit; use a float (`1.0 * x`) for larger numbers"))
    }

    private static func divisionByZero(_ op: String) -> Outcome {
        .failure(ScriptError(op == "%" ? "remainder by zero" : "division by zero", id: ErrorID.divisionByZero))
    }

    static func unary(_ op: UnaryOp, _ v: Value) -> Outcome {
        switch (op, v) {
        case (.negate, .int(let i)):
            let (r, o) = Int(0).subtractingReportingOverflow(i)
            return o ? overflow("-") : .success(.int(r))
        case (.negate, .float(let d)):
            return .success(.float(-d))
        case (.negate, _):
            return .failure(ScriptError("cannot apply `-` to \(v.typeName)", id: ErrorID.unsupportedOperands))
        case (.not, .bool(let b)):
            return .success(.bool(!b))
        case (.not, _):
            return .failure(ScriptError("`not` needs a bool, got \(v.typeName)", id: ErrorID.notBool))
        }
    }

    static func binary(_ op: BinaryOp, _ a: Value, _ b: Value) -> Outcome {
        switch op {
        case .add: return add(a, b)
        case .subtract, .multiply, .divide, .floorDivide, .modulo, .power: return arithmetic(op, a, b)
        case .equal: return .success(.bool(a == b))
        case .notEqual: return .success(.bool(a != b))
        case .less, .lessEqual, .greater, .greaterEqual:
            guard let c = Value.compare(a, b) else {
                return .failure(ScriptError("cannot compare \(a.typeName) and \(b.typeName) with `\(op.rawValue)`",
                                            id: ErrorID.unsupportedOperands))
            }
            switch op {
            case .less: return .success(.bool(c < 0))
            case .lessEqual: return .success(.bool(c <= 0))
            case .greater: return .success(.bool(c > 0))
            default: return .success(.bool(c >= 0))
            }
        case .contains: return contains(a, b)
        case .notContains:
            return contains(a, b).map { v in if case .bool(let x) = v { return .bool(!x) }; return v }
        }
    }

    private static func add(_ a: Value, _ b: Value) -> Outcome {
        switch (a, b) {
        case (.int(let x), .int(let y)):
            let (r, o) = x.addingReportingOverflow(y)
            return o ? overflow("+") : .success(.int(r))
        case (.string(let x), .string(let y)): return .success(.string(x + y))
        case (.list(let x), .list(let y)): return .success(.list(x + y))
        case (.string, _), (_, .string):
            return unsupported("+", a, b, hint: "convert with `str(x)` to join text")
        case (.list, _):
            return unsupported("+", a, b, hint: "add a list: `xs + [x]`")
        default:
            guard let x = a.number, let y = b.number else { return unsupported("+", a, b) }
            return .success(.float(x + y))
        }
    }

    private static func repeated<T>(_ item: [T], _ n: Int) -> [T]? {
        guard n > 0 else { return [] }
        guard item.count.multipliedReportingOverflow(by: n).partialValue <= 100_000_000 else { return nil }
        return Array([[T]](repeating: item, count: n).joined())
    }

    private static func arithmetic(_ op: BinaryOp, _ a: Value, _ b: Value) -> Outcome {
        let sym = op.rawValue
        switch (op, a, b) {
        case (.multiply, .string(let s), .int(let n)), (.multiply, .int(let n), .string(let s)):
            guard let chars = repeated(Array(s.unicodeScalars), n) else { return overflow("*") }
            return .success(.string(String(String.UnicodeScalarView(chars))))
        case (.multiply, .list(let xs), .int(let n)), (.multiply, .int(let n), .list(let xs)):
            guard let items = repeated(xs, n) else { return overflow("*") }
            return .success(.list(items))
        case (_, .int(let x), .int(let y)):
            return intArithmetic(op, x, y)
        default:
            guard let x = a.number, let y = b.number else {
                let hint = a.typeName == "string" || b.typeName == "string" ? "convert with `float(x)` or `int(x)`" : nil
                return unsupported(sym, a, b, hint: hint)
            }
            switch op {
            case .subtract: return .success(.float(x - y))
            case .multiply: return .success(.float(x * y))
            case .divide: return y == 0 ? divisionByZero(sym) : .success(.float(x / y))
            case .floorDivide: return y == 0 ? divisionByZero(sym) : .success(.float((x / y).rounded(.down)))
            case .modulo: return y == 0 ? divisionByZero(sym) : .success(.float(x - (x / y).rounded(.down) * y))
            default: return .success(.float(Foundation.pow(x, y)))
            }
        }
    }

    private static func intArithmetic(_ op: BinaryOp, _ x: Int, _ y: Int) -> Outcome {
        let sym = op.rawValue
        func checked(_ r: (partialValue: Int, overflow: Bool)) -> Outcome {
            r.overflow ? overflow(sym) : .success(.int(r.partialValue))
        }
        switch op {
        case .subtract: return checked(x.subtractingReportingOverflow(y))
        case .multiply: return checked(x.multipliedReportingOverflow(by: y))
        case .divide: return y == 0 ? divisionByZero(sym) : .success(.float(Double(x) / Double(y)))
        case .floorDivide, .modulo:
            guard y != 0 else { return divisionByZero(sym) }
            let (q, o) = x.dividedReportingOverflow(by: y)
            if o { return overflow(sym) }
            let r = x - q * y
            // Python's rule: the quotient rounds down, the remainder takes the divisor's sign.
            let adjust = r != 0 && ((r < 0) != (y < 0))
            return .success(.int(op == .floorDivide ? q - (adjust ? 1 : 0) : r + (adjust ? y : 0)))
        default:
            if y < 0 { return .success(.float(Foundation.pow(Double(x), Double(y)))) }
            var result = 1, base = x, e = y
            while e > 0 {
                if e & 1 == 1 {
                    let m = result.multipliedReportingOverflow(by: base)
                    if m.overflow { return overflow(sym) }
                    result = m.partialValue
                }
                e >>= 1
                if e > 0 {
                    let m = base.multipliedReportingOverflow(by: base)
                    if m.overflow { return overflow(sym) }
                    base = m.partialValue
                }
            }
            return .success(.int(result))
        }
    }

    private static func contains(_ a: Value, _ b: Value) -> Outcome {
        switch b {
        case .list(let xs): return .success(.bool(xs.contains(a)))
        case .string(let s):
            guard case .string(let sub) = a else {
                return .failure(ScriptError("`in` a string needs a string on the left, got \(a.typeName)", id: ErrorID.unsupportedOperands))
            }
            return .success(.bool(sub.isEmpty || s.contains(sub)))
        case .record(let r):
            guard case .string(let k) = a else { return .success(.bool(false)) }
            return .success(.bool(r[k] != nil))
        case .range(let r):
            switch a {
            case .int(let i): return .success(.bool(r.contains(i)))
            case .float(let d): return .success(.bool(d.rounded() == d && abs(d) < 9e18 && r.contains(Int(d))))
            default: return .success(.bool(false))
            }
        default:
            return .failure(ScriptError("`in` needs a list, string, record or range on the right, got \(b.typeName)",
                                        id: ErrorID.unsupportedOperands))
        }
    }

    // MARK: Indexing

    /// A position from an index that may count from the end (`-1` is the last).
    static func position(_ i: Value, count: Int, of kind: String) -> Result<Int, ScriptError> {
        guard case .int(let k) = i else {
            return .failure(ScriptError("\(kind) index must be an int, got \(i.typeName)", id: ErrorID.notIndexable))
        }
        let p = k < 0 ? count + k : k
        guard p >= 0, p < count else {
            return .failure(ScriptError("index \(k) out of range for \(kind) of length \(count)", id: ErrorID.indexOutOfRange))
        }
        return .success(p)
    }

    static func index(_ base: Value, _ i: Value) -> Outcome {
        switch base {
        case .list(let xs):
            return position(i, count: xs.count, of: "list").map { xs[$0] }
        case .string(let s):
            let chars = Array(s)
            return position(i, count: chars.count, of: "string").map { .string(String(chars[$0])) }
        case .range(let r):
            return position(i, count: r.count, of: "range").map { .int(r[$0]) }
        case .record(let r):
            // An int reads the field named by its digits: this is how `Out[3]` works.
            let key: String
            switch i {
            case .string(let s): key = s
            case .int(let n): key = String(n)
            default:
                return .failure(ScriptError("record index must be a string, got \(i.typeName)", id: ErrorID.notIndexable))
            }
            guard let v = r[key] else {
                return .failure(ScriptError("record has no field `\(key)`", id: ErrorID.noSuchField))
            }
            return .success(v)
        default:
            return .failure(ScriptError("cannot index \(base.typeName)", id: ErrorID.notIndexable))
        }
    }

    static func slice(_ base: Value, _ lo: Value?, _ hi: Value?, _ step: Value?) -> Outcome {
        func bound(_ v: Value?, _ what: String) -> Result<Int?, ScriptError> {
            switch v {
            case nil, .none?: return .success(nil)
            case .int(let i)?: return .success(i)
            case let other?:
                return .failure(ScriptError("slice \(what) must be an int, got \(other.typeName)", id: ErrorID.notIndexable))
            }
        }
        let parts: (Int?, Int?, Int?)
        switch (bound(lo, "start"), bound(hi, "end"), bound(step, "step")) {
        case (.success(let a), .success(let b), .success(let c)): parts = (a, b, c)
        case (.failure(let e), _, _), (_, .failure(let e), _), (_, _, .failure(let e)): return .failure(e)
        }
        let s = parts.2 ?? 1
        guard s != 0 else { return .failure(ScriptError("slice step cannot be zero", id: ErrorID.invalidValue)) }
        switch base {
        case .list(let xs):
            return .success(.list(sliceIndices(xs.count, parts.0, parts.1, s).map { xs[$0] }))
        case .string(let str):
            let chars = Array(str)
            return .success(.string(String(sliceIndices(chars.count, parts.0, parts.1, s).map { chars[$0] })))
        case .range(let r):
            return .success(.list(sliceIndices(r.count, parts.0, parts.1, s).map { .int(r[$0]) }))
        default:
            return .failure(ScriptError("cannot slice \(base.typeName)", id: ErrorID.notIndexable))
        }
    }

    /// Python's slice rules: bounds clamp, negative bounds count from the end.
    static func sliceIndices(_ n: Int, _ lo: Int?, _ hi: Int?, _ step: Int) -> [Int] {
        func normalize(_ v: Int, _ lower: Int, _ upper: Int) -> Int {
            let x = v < 0 ? v.addingReportingOverflow(n).partialValue : v
            return min(max(x, lower), upper)
        }
        if step > 0 {
            let start = lo.map { normalize($0, 0, n) } ?? 0
            let stop = hi.map { normalize($0, 0, n) } ?? n
            return start < stop ? Array(stride(from: start, to: stop, by: step)) : []
        }
        let start = lo.map { normalize($0, -1, n - 1) } ?? n - 1
        let stop = hi.map { normalize($0, -1, n - 1) } ?? -1
        return start > stop ? Array(stride(from: start, to: stop, by: step)) : []
    }
}
