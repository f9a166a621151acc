// The parser: tokens to `Program`, by recursive descent. Each parse function begins with the
// grammar rule it parses (the whole grammar is in tutorials/reference/language.md). The
// first error stops the parse; a script with a syntax error runs nothing.

struct Parser {
    static let maxNesting = 100

    private let source: Source
    private var tokens: [Token]
    private var pos = 0
    /// Open `(`, `[` and record `{` around the current token; newlines inside them are skipped.
    private var bracketDepth = 0
    /// The open brackets themselves, innermost last, to blame when the input ends inside one.
    private var openers: [Token] = []
    private var loopDepth = 0
    private var fnDepth = 0
    private var nesting = 0

    private init(_ source: Source, _ tokens: [Token]) {
        self.source = source
        self.tokens = tokens
    }

    static func parse(_ source: Source) throws -> Program {
        var p = Parser(source, try Lexer.tokenize(source))
        return Program(source: source, statements: try p.program())
    }

    // MARK: Tokens

    private mutating func skipNewlinesIfBracketed() {
        if bracketDepth > 0 { while tokens[pos].kind == .newline { pos += 1 } }
    }

    private mutating func peek() -> Token {
        skipNewlinesIfBracketed()
        return tokens[pos]
    }

    /// The token `k` places after the current one (newlines skipped inside brackets).
    private mutating func peek(ahead k: Int) -> Token {
        skipNewlinesIfBracketed()
        var j = pos, left = k
        while left > 0, j < tokens.count - 1 {
            j += 1
            if bracketDepth > 0, tokens[j].kind == .newline { continue }
            left -= 1
        }
        return tokens[j]
    }

    @discardableResult
    private mutating func advance() -> Token {
        let t = peek()
        if t.kind != .eof { pos += 1 }
        return t
    }

    private mutating func check(_ s: Symbol) -> Bool { peek().kind == .symbol(s) }
    private mutating func check(_ k: Keyword) -> Bool { peek().kind == .keyword(k) }

    private mutating func match(_ s: Symbol) -> Bool {
        if check(s) { advance(); return true }
        return false
    }

    private mutating func expect(_ s: Symbol, _ context: String, hint: String? = nil) throws -> Token {
        if check(s) { return advance() }
        throw unexpected("expected `\(s.rawValue)` \(context)", hint: hint)
    }

    /// Expects the closer of a bracket pair; at end of input, blames the opener instead.
    private mutating func close(_ s: Symbol, opener: Token, _ context: String) throws -> Token {
        if check(s) { return advance() }
        if peek().kind == .eof, case .symbol(let o) = opener.kind {
            throw source.diagnostic(ErrorID.unclosedBracket, "unclosed `\(o.rawValue)`", at: opener.span,
                                    hint: "add `\(s.rawValue)` to close it")
        }
        throw unexpected("expected `\(s.rawValue)` \(context)")
    }

    private mutating func unexpected(_ expected: String, hint: String? = nil) -> Diagnostic {
        let t = peek()
        if t.kind == .eof, let open = openers.last, case .symbol(let o) = open.kind {
            let closer = o == .leftParen ? ")" : (o == .leftBracket ? "]" : "}")
            return source.diagnostic(ErrorID.unclosedBracket, "unclosed `\(o.rawValue)`", at: open.span,
                                     hint: "add `\(closer)` to close it")
        }
        return source.diagnostic(ErrorID.unexpectedToken, "\(expected), found \(t.kind.described)", at: t.span, hint: hint)
    }

    private mutating func deeper<T>(at span: Span, _ body: (inout Parser) throws -> T) throws -> T {
        nesting += 1
        defer { nesting -= 1 }
        if nesting > Parser.maxNesting {
            throw source.diagnostic(ErrorID.nestingTooDeep, "nesting too deep (more than \(Parser.maxNesting) levels)", at: span)
        }
        return try body(&self)
    }

    private mutating func bracketed<T>(_ open: Token, _ body: (inout Parser) throws -> T) rethrows -> T {
        bracketDepth += 1
        openers.append(open)
        defer { bracketDepth -= 1; openers.removeLast() }
        return try body(&self)
    }

    // MARK: Statements

    // program = { statement terminator } EOF
    private mutating func program() throws -> [Stmt] {
        var statements: [Stmt] = []
        while true {
            skipTerminators()
            if peek().kind == .eof { return statements }
            statements.append(try statement())
            try terminator()
        }
    }

    private mutating func skipTerminators() {
        while peek().kind == .newline || check(.semicolon) { advance() }
    }

    // terminator = NEWLINE | ";" | (before "}" or EOF)
    private mutating func terminator() throws {
        let t = peek()
        switch t.kind {
        case .newline, .symbol(.semicolon): advance()
        case .eof, .symbol(.rightBrace): break
        default:
            throw unexpected("expected end of line after the statement",
                             hint: "put each statement on its own line, or separate them with `;`")
        }
    }

    // block = "{" { statement terminator } "}"
    private mutating func block(_ context: String, hint: String? = nil) throws -> ([Stmt], Span) {
        let open = peek()
        var h = hint
        if open.kind == .symbol(.assign) { h = "use `==` to compare" }
        if open.kind == .newline { h = "the block's `{` goes on the same line" }
        _ = try expect(.leftBrace, context, hint: h)
        return try deeper(at: open.span) { p in
            var body: [Stmt] = []
            while true {
                p.skipTerminators()
                let t = p.peek()
                if t.kind == .symbol(.rightBrace) { break }
                if t.kind == .eof {
                    throw p.source.diagnostic(ErrorID.unclosedBracket, "unclosed `{`", at: open.span,
                                              hint: "add `}` to close it")
                }
                body.append(try p.statement())
                try p.terminator()
            }
            let closeToken = p.advance()
            return (body, open.span.to(closeToken.span))
        }
    }

    // statement = if | for | while | fn | return | "break" | "continue" | use | simple
    private mutating func statement() throws -> Stmt {
        let t = peek()
        switch t.kind {
        case .keyword(.if): return try ifStatement()
        case .keyword(.for): return try forStatement()
        case .keyword(.while): return try whileStatement()
        case .keyword(.fn): return try fnStatement()
        case .keyword(.return): return try returnStatement()
        case .keyword(.break), .keyword(.continue):
            advance()
            let isBreak = t.kind == .keyword(.break)
            if loopDepth == 0 {
                throw source.diagnostic(ErrorID.misplacedControl, "`\(isBreak ? "break" : "continue")` outside a loop", at: t.span)
            }
            return isBreak ? .breakLoop(t.span) : .continueLoop(t.span)
        case .keyword(.use): return try useStatement()
        case .keyword(.else):
            throw source.diagnostic(ErrorID.unexpectedToken, "`else` without `if`", at: t.span,
                                    hint: "`else` follows the `}` of an `if` block")
        default: return try simpleStatement()
        }
    }

    // if = "if" expr block { "else" "if" expr block } [ "else" block ]
    private mutating func ifStatement() throws -> Stmt {
        let start = advance().span
        var branches: [ConditionalBranch] = []
        var elseBody: [Stmt]?
        var end: Span
        let condition = try expression()
        let (body, bodySpan) = try block("after the condition of `if`")
        branches.append(ConditionalBranch(condition: condition, body: body))
        end = bodySpan
        while elseFollows() {
            advance()
            if check(.if) {
                advance()
                let c = try expression()
                let (b, s) = try block("after the condition of `else if`")
                branches.append(ConditionalBranch(condition: c, body: b))
                end = s
            } else {
                let (b, s) = try block("after `else`")
                elseBody = b
                end = s
                break
            }
        }
        return .ifElse(branches, elseBody, start.to(end))
    }

    /// `else` may begin a later line in a script: skip newlines only if `else` comes next.
    private mutating func elseFollows() -> Bool {
        var j = pos
        while tokens[j].kind == .newline { j += 1 }
        guard tokens[j].kind == .keyword(.else) else { return false }
        pos = j
        return true
    }

    // for = "for" NAME { "," NAME } "in" expr block
    private mutating func forStatement() throws -> Stmt {
        let start = advance().span
        var names: [String] = []
        repeat {
            guard case .identifier(let n) = peek().kind else {
                throw unexpected("expected a variable name after `for`")
            }
            if names.contains(n) {
                throw source.diagnostic(ErrorID.invalidParameters, "variable `\(n)` named twice in `for`", at: peek().span)
            }
            names.append(n)
            advance()
        } while match(.comma)
        guard check(.in) else { throw unexpected("expected `in` after the loop variable") }
        advance()
        let iterable = try expression()
        loopDepth += 1
        defer { loopDepth -= 1 }
        let (body, span) = try block("after the `for ... in` expression")
        return .forIn(names, iterable, body, start.to(span))
    }

    // while = "while" expr block
    private mutating func whileStatement() throws -> Stmt {
        let start = advance().span
        let condition = try expression()
        loopDepth += 1
        defer { loopDepth -= 1 }
        let (body, span) = try block("after the condition of `while`")
        return .whileLoop(condition, body, start.to(span))
    }

    // fn = "fn" NAME "(" [ param { "," param } [","] ] ")" block ; param = NAME [ "=" expr ]
    private mutating func fnStatement() throws -> Stmt {
        let start = advance().span
        guard case .identifier(let name) = peek().kind else { throw unexpected("expected the function's name after `fn`") }
        advance()
        let open = try expect(.leftParen, "after the function's name")
        var params: [Parameter] = []
        try bracketed(open) { p in
            while !p.check(.rightParen) {
                let t = p.peek()
                guard case .identifier(let pname) = t.kind else {
                    if t.kind == .eof { _ = try p.close(.rightParen, opener: open, "") }
                    throw p.unexpected("expected a parameter name")
                }
                p.advance()
                if params.contains(where: { $0.name == pname }) {
                    throw p.source.diagnostic(ErrorID.invalidParameters, "duplicate parameter `\(pname)`", at: t.span)
                }
                var def: Expr?
                if p.match(.assign) {
                    def = try p.expression()
                } else if let previous = params.last(where: { $0.defaultValue != nil }) {
                    throw p.source.diagnostic(ErrorID.invalidParameters,
                                              "parameter `\(pname)` needs a default because `\(previous.name)` has one",
                                              at: t.span)
                }
                params.append(Parameter(name: pname, defaultValue: def, span: t.span))
                if !p.match(.comma) { break }
            }
            _ = try p.close(.rightParen, opener: open, "after the parameters")
        }
        let savedLoop = loopDepth
        loopDepth = 0
        fnDepth += 1
        defer { loopDepth = savedLoop; fnDepth -= 1 }
        let (body, span) = try block("before the function's body")
        return .function(FunctionDecl(name: name, parameters: params, body: body, span: start.to(span), source: source))
    }

    // return = "return" [ expr ]
    private mutating func returnStatement() throws -> Stmt {
        let t = advance()
        if fnDepth == 0 {
            throw source.diagnostic(ErrorID.misplacedControl, "`return` outside a fn", at: t.span)
        }
        switch peek().kind {
        case .newline, .eof, .symbol(.semicolon), .symbol(.rightBrace):
            return .returnValue(nil, t.span)
        default:
            let value = try expression()
            return .returnValue(value, t.span.to(value.span))
        }
    }

    // use = "use" STRING
    private mutating func useStatement() throws -> Stmt {
        let start = advance().span
        let t = peek()
        guard case .string(let path) = t.kind else { throw unexpected("expected a file name in quotes after `use`") }
        advance()
        return .use(path, start.to(t.span), t.span)
    }

    // simple = expr [ ("=" | "+=" | "-=" | "*=" | "/=") expr ]
    private mutating func simpleStatement() throws -> Stmt {
        let lhs = try expression()
        let op: BinaryOp?
        switch peek().kind {
        case .symbol(.assign): op = nil
        case .symbol(.plusAssign): op = .add
        case .symbol(.minusAssign): op = .subtract
        case .symbol(.starAssign): op = .multiply
        case .symbol(.slashAssign): op = .divide
        default: return .expression(lhs, lhs.span)
        }
        advance()
        guard let target = assignTarget(lhs) else {
            throw source.diagnostic(ErrorID.invalidAssignment, "cannot assign to this expression", at: lhs.span,
                                    hint: "assign to a variable, an element `xs[i]` or a field `r.name`"
                                        + (op == nil ? "; use `==` to compare" : ""))
        }
        if peek().kind == .newline || peek().kind == .eof {
            throw unexpected("expected a value after `\(op.map { $0.rawValue + "=" } ?? "=")`")
        }
        let value = try expression()
        return .assign(target, op, value, lhs.span.to(value.span))
    }

    private func assignTarget(_ e: Expr) -> AssignTarget? {
        switch e {
        case .name(let n, let s): return .name(n, s)
        case .index(let base, let i, let s): return assignTarget(base).map { .index($0, i, s) }
        case .field(let base, let f, let s): return assignTarget(base).map { .field($0, f, s) }
        default: return nil
        }
    }

    // MARK: Expressions

    // expr = or
    private mutating func expression() throws -> Expr {
        try deeper(at: peek().span) { p in try p.orExpression() }
    }

    // or = and { "or" and }
    private mutating func orExpression() throws -> Expr {
        var e = try andExpression()
        while check(.or) {
            advance()
            let r = try andExpression()
            e = .logical(.or, e, r, e.span.to(r.span))
        }
        return e
    }

    // and = not { "and" not }
    private mutating func andExpression() throws -> Expr {
        var e = try notExpression()
        while check(.and) {
            advance()
            let r = try notExpression()
            e = .logical(.and, e, r, e.span.to(r.span))
        }
        return e
    }

    // not = "not" not | comparison
    private mutating func notExpression() throws -> Expr {
        if check(.not) {
            let t = advance()
            let operand = try deeper(at: t.span) { p in try p.notExpression() }
            return .unary(.not, operand, t.span.to(operand.span))
        }
        return try comparison()
    }

    // comparison = range [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") range ]
    private mutating func comparison() throws -> Expr {
        let left = try rangeExpression()
        guard let op = comparisonOperator() else { return left }
        let right = try rangeExpression()
        if comparisonOperator(consume: false) != nil {
            throw source.diagnostic(ErrorID.chainedComparison, "comparison operators do not chain", at: peek().span,
                                    hint: "write `a < b and b < c`")
        }
        return .binary(op, left, right, left.span.to(right.span))
    }

    private mutating func comparisonOperator(consume: Bool = true) -> BinaryOp? {
        let op: BinaryOp
        var width = 1
        switch peek().kind {
        case .symbol(.equal): op = .equal
        case .symbol(.notEqual): op = .notEqual
        case .symbol(.less): op = .less
        case .symbol(.lessEqual): op = .lessEqual
        case .symbol(.greater): op = .greater
        case .symbol(.greaterEqual): op = .greaterEqual
        case .keyword(.in): op = .contains
        case .keyword(.not):
            guard peek(ahead: 1).kind == .keyword(.in) else { return nil }
            op = .notContains
            width = 2
        default: return nil
        }
        if consume { for _ in 0..<width { advance() } }
        return op
    }

    // range = additive [ ".." additive ]
    private mutating func rangeExpression() throws -> Expr {
        let left = try additive()
        guard match(.dotDot) else { return left }
        let right = try additive()
        return .range(left, right, left.span.to(right.span))
    }

    // additive = term { ("+" | "-") term }
    private mutating func additive() throws -> Expr {
        var e = try term()
        while true {
            let op: BinaryOp
            switch peek().kind {
            case .symbol(.plus): op = .add
            case .symbol(.minus): op = .subtract
            default: return e
            }
            advance()
            let r = try term()
            e = .binary(op, e, r, e.span.to(r.span))
        }
    }

    // term = unary { ("*" | "/" | "//" | "%") unary }
    private mutating func term() throws -> Expr {
        var e = try unary()
        while true {
            let op: BinaryOp
            switch peek().kind {
            case .symbol(.star): op = .multiply
            case .symbol(.slash): op = .divide
            case .symbol(.slashSlash): op = .floorDivide
            case .symbol(.percent): op = .modulo
            default: return e
            }
            advance()
            let r = try unary()
            e = .binary(op, e, r, e.span.to(r.span))
        }
    }

    // unary = "-" unary | power
    private mutating func unary() throws -> Expr {
        if check(.minus) {
            let t = advance()
            let operand = try deeper(at: t.span) { p in try p.unary() }
            return .unary(.negate, operand, t.span.to(operand.span))
        }
        return try power()
    }

    // power = postfix [ "**" unary ]
    private mutating func power() throws -> Expr {
        let base = try postfix()
        guard match(.starStar) else { return base }
        let exponent = try deeper(at: base.span) { p in try p.unary() }
        return .binary(.power, base, exponent, base.span.to(exponent.span))
    }

    // postfix = primary { "(" arguments ")" | "[" subscript "]" | "." NAME }
    private mutating func postfix() throws -> Expr {
        var e = try primary()
        while true {
            if check(.leftParen) {
                let open = advance()
                let args = try bracketed(open) { p in try p.arguments(open) }
                let closing = try bracketed(open) { p in try p.close(.rightParen, opener: open, "after the arguments") }
                e = .call(e, args, e.span.to(closing.span))
            } else if check(.leftBracket) {
                let open = advance()
                e = try bracketed(open) { p in try p.subscriptSuffix(e, open) }
            } else if check(.dot) {
                advance()
                let t = peek()
                guard case .identifier(let name) = t.kind else { throw unexpected("expected a field name after `.`") }
                advance()
                e = .field(e, name, e.span.to(t.span))
            } else {
                return e
            }
            nesting += 1
            defer { nesting -= 1 }
            if nesting > Parser.maxNesting * 2 {
                throw source.diagnostic(ErrorID.nestingTooDeep, "nesting too deep (more than \(Parser.maxNesting) levels)", at: e.span)
            }
        }
    }

    // arguments = [ argument { "," argument } [","] ] ; argument = [ NAME "=" ] expr
    private mutating func arguments(_ open: Token) throws -> [Argument] {
        var args: [Argument] = []
        while !check(.rightParen) && peek().kind != .eof {
            let t = peek()
            if case .identifier(let label) = t.kind, peek(ahead: 1).kind == .symbol(.assign) {
                advance(); advance()
                if args.contains(where: { $0.label == label }) {
                    throw source.diagnostic(ErrorID.invalidArguments, "keyword argument `\(label)` given twice", at: t.span)
                }
                args.append(Argument(label: label, labelSpan: t.span, value: try expression()))
            } else {
                let value = try expression()
                if args.contains(where: { $0.label != nil }) {
                    throw source.diagnostic(ErrorID.invalidArguments, "positional argument after keyword arguments",
                                            at: value.span, hint: "put positional arguments first")
                }
                args.append(Argument(label: nil, labelSpan: nil, value: value))
            }
            if !match(.comma) { break }
        }
        return args
    }

    // subscript = expr | [ expr ] ":" [ expr ] [ ":" [ expr ] ]
    private mutating func subscriptSuffix(_ base: Expr, _ open: Token) throws -> Expr {
        var lower: Expr?
        if !check(.colon) {
            let index = try expression()
            if !check(.colon) {
                let closing = try close(.rightBracket, opener: open, "after the index")
                return .index(base, index, base.span.to(closing.span))
            }
            lower = index
        }
        advance()
        var upper: Expr?, step: Expr?
        if !check(.colon) && !check(.rightBracket) { upper = try expression() }
        if match(.colon), !check(.rightBracket) { step = try expression() }
        let closing = try close(.rightBracket, opener: open, "after the slice")
        return .slice(base, lower, upper, step, base.span.to(closing.span))
    }

    // primary = INT | FLOAT | STRING | "true" | "false" | "none" | NAME | "(" expr ")" | list | record
    private mutating func primary() throws -> Expr {
        let t = peek()
        switch t.kind {
        case .int(let v): advance(); return .literal(.int(v), t.span)
        case .float(let v): advance(); return .literal(.float(v), t.span)
        case .string(let v): advance(); return .literal(.string(v), t.span)
        case .keyword(.true): advance(); return .literal(.bool(true), t.span)
        case .keyword(.false): advance(); return .literal(.bool(false), t.span)
        case .keyword(.none): advance(); return .literal(.none, t.span)
        case .identifier(let n): advance(); return .name(n, t.span)
        case .symbol(.leftParen):
            advance()
            return try bracketed(t) { p in
                let inner = try p.expression()
                let closing = try p.close(.rightParen, opener: t, "after the expression")
                return p.reparenthesized(inner, t.span.to(closing.span))
            }
        case .symbol(.leftBracket):
            advance()
            return try bracketed(t) { p in try p.listLiteral(t) }
        case .symbol(.leftBrace):
            advance()
            return try bracketed(t) { p in try p.recordLiteral(t) }
        default:
            var hint: String?
            if t.kind == .keyword(.fn) { hint = "functions are declared as statements: `fn name(a) { ... }`" }
            if case .keyword(let k) = t.kind, k != .fn { hint = "`\(k.rawValue)` is a keyword" }
            throw unexpected("expected an expression", hint: hint)
        }
    }

    /// Parentheses only group; the span widens so carets cover `(a + b)`.
    private func reparenthesized(_ e: Expr, _ span: Span) -> Expr {
        switch e {
        case .binary(let op, let l, let r, _): return .binary(op, l, r, span)
        case .logical(let op, let l, let r, _): return .logical(op, l, r, span)
        default: return e
        }
    }

    // list = "[" [ expr { "," expr } [","] ] "]"
    private mutating func listLiteral(_ open: Token) throws -> Expr {
        var items: [Expr] = []
        while !check(.rightBracket) && peek().kind != .eof {
            items.append(try expression())
            if !match(.comma) { break }
        }
        let closing = try close(.rightBracket, opener: open, "after the list's items")
        return .list(items, open.span.to(closing.span))
    }

    // record = "{" [ field { "," field } [","] ] "}" ; field = (NAME | STRING) ":" expr
    private mutating func recordLiteral(_ open: Token) throws -> Expr {
        var fields: [RecordField] = []
        while !check(.rightBrace) && peek().kind != .eof {
            let t = peek()
            let key: String
            switch t.kind {
            case .identifier(let n): key = n
            case .string(let s): key = s
            case .keyword(let k): key = k.rawValue
            default: throw unexpected("expected a field name in the record")
            }
            advance()
            _ = try expect(.colon, "after the field name `\(key)`")
            fields.append(RecordField(key: key, keySpan: t.span, value: try expression()))
            if !match(.comma) { break }
        }
        let closing = try close(.rightBrace, opener: open, "after the record's fields")
        return .record(fields, open.span.to(closing.span))
    }
}

extension Program {
    /// Parses a script without running it; throws the first syntax error as a `Diagnostic`.
    public init(parsing text: String, file: String) throws {
        self = try Parser.parse(Source(file: file, text: text))
    }
}
