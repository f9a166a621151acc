// Tab completion for the REPL: builtins, variables and keywords; the keyword arguments of
// the call being typed; record and host fields after a dot; and inside a string literal,
// what the parameter's completer offers (file paths by default).

import Foundation

public struct Completion: Equatable {
    /// Character offset in the line where the replaced text starts.
    public var start: Int
    /// Replacements for the text from `start` to the cursor.
    public var candidates: [String]
}

/// One open bracket in the text before the cursor.
private struct OpenBracket {
    var char: Character
    /// The name right before `(`, when the bracket opens a call.
    var callee: String?
    var positionalIndex = 0
    var keyword: String?
    var keywordsUsed: [String] = []
}

extension Session {
    public func completions(line: String, cursor: Int) -> [String] {
        complete(line: line, cursor: cursor).candidates
    }

    public func complete(line: String, cursor: Int) -> Completion {
        let chars = Array(line.prefix(max(0, cursor)))
        var stack: [OpenBracket] = []
        var stringStart: Int?
        var i = 0
        // Scan the text before the cursor: strings, comments and brackets.
        while i < chars.count {
            let c = chars[i]
            if stringStart != nil {
                if c == "\\" { i += 2; continue }
                if c == "\"" { stringStart = nil }
                i += 1
                continue
            }
            switch c {
            case "#":
                return Completion(start: cursor, candidates: [])
            case "\"":
                stringStart = i
            case "(", "[", "{":
                var b = OpenBracket(char: c)
                if c == "(" {
                    let name = identifier(endingAt: i, in: chars)
                    if !name.isEmpty, i - name.count == 0 || chars[i - name.count - 1] != "." { b.callee = name }
                }
                stack.append(b)
            case ")", "]", "}":
                if !stack.isEmpty { stack.removeLast() }
            case ",":
                if var top = stack.popLast() {
                    if let k = top.keyword { top.keywordsUsed.append(k); top.keyword = nil } else { top.positionalIndex += 1 }
                    stack.append(top)
                }
            case "=":
                let next = i + 1 < chars.count ? chars[i + 1] : " "
                let previous = i > 0 ? chars[i - 1] : " "
                if next != "=", !"=!<>+-*/".contains(previous), var top = stack.popLast() {
                    let word = identifier(endingAt: lastNonSpace(before: i, in: chars), in: chars)
                    if !word.isEmpty { top.keyword = word }
                    stack.append(top)
                }
            default:
                break
            }
            i += 1
        }
        let call = stack.last.flatMap { $0.char == "(" ? $0 : nil }
        let env = CompletionEnvironment(variables: interpreter.globals, baseDirectory: baseDirectory, builtinNames: builtins.names)

        if let s = stringStart {
            let typed = String(chars[(s + 1)...])
            let completer = call.flatMap { parameter(for: $0)?.completer }.flatMap { $0.inString ? $0 : nil }
            let candidates = completer?.complete(typed, env) ?? completePaths(typed, baseDirectory: baseDirectory, extensions: [])
            return Completion(start: s + 1, candidates: candidates)
        }

        let word = identifier(endingAt: chars.count, in: chars)
        let start = chars.count - word.count
        if start > 0, chars[start - 1] == "." {
            return Completion(start: start, candidates: fields(before: start - 1, in: chars).filter { $0.hasPrefix(word) })
        }
        if let first = word.first, first.isNumber { return Completion(start: cursor, candidates: []) }

        var candidates: [String] = []
        if let call {
            // Parameters already given, by position or keyword, are not offered again.
            let params = parameterNames(of: call.callee).dropFirst(call.positionalIndex)
            candidates += params.filter { !call.keywordsUsed.contains($0) && $0.hasPrefix(word) }.map { $0 + "=" }
            if call.keyword == nil, let p = parameter(for: call), let c = p.completer, !c.inString {
                candidates += c.complete(word, env)
            }
        }
        var names = Set(Keyword.allCases.map(\.rawValue))
        names.formUnion(builtins.names)
        names.formUnion(interpreter.globals.keys.filter { !Session.isInternalName($0) })
        candidates += names.filter { $0.hasPrefix(word) }.sorted()
        var seen: Set<String> = []
        return Completion(start: start, candidates: candidates.filter { seen.insert($0).inserted })
    }

    /// The parameter the argument being typed goes to.
    private func parameter(for call: OpenBracket) -> ParamSpec? {
        guard let name = call.callee, let spec = builtins[name], interpreter.globals[name] == nil else { return nil }
        if let k = call.keyword { return spec.params.first { $0.name == k } }
        let fixed = spec.params.prefix { !$0.isVariadic }
        if call.positionalIndex < fixed.count { return fixed[call.positionalIndex] }
        return spec.params.first { $0.isVariadic }
    }

    private func parameterNames(of callee: String?) -> [String] {
        guard let name = callee else { return [] }
        if case .function(let f)? = interpreter.globals[name] { return f.parameterNames }
        return builtins[name]?.params.filter { !$0.isVariadic }.map(\.name) ?? []
    }

    /// Field names of the value named by the dotted path ending at `dot` (`s.skip.` → fields of s.skip).
    private func fields(before dot: Int, in chars: [Character]) -> [String] {
        var j = dot
        while j > 0, chars[j - 1].isLetter || chars[j - 1].isNumber || chars[j - 1] == "_" || chars[j - 1] == "." { j -= 1 }
        let path = String(chars[j..<dot]).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let root = path.first, !root.isEmpty, var value = interpreter.globals[root] else { return [] }
        for name in path.dropFirst() {
            switch value {
            case .record(let r): guard let v = r[name] else { return [] }; value = v
            case .host(let h): guard let v = h.field(name) else { return [] }; value = v
            default: return []
            }
        }
        switch value {
        case .record(let r): return r.keys
        case .host(let h): return h.fieldNames
        default: return []
        }
    }
}

private func identifier(endingAt end: Int, in chars: [Character]) -> String {
    var j = end
    while j > 0, chars[j - 1].isASCII, chars[j - 1].isLetter || chars[j - 1].isNumber || chars[j - 1] == "_" { j -= 1 }
    return String(chars[j..<end])
}

private func lastNonSpace(before i: Int, in chars: [Character]) -> Int {
    var j = i
    while j > 0, chars[j - 1] == " " { j -= 1 }
    return j
}

/// Paths that extend `prefix`, relative to `baseDirectory` unless absolute; folders end in
/// `/`; hidden entries only when the typed name starts with a dot.
func completePaths(_ prefix: String, baseDirectory: String, extensions: [String]) -> [String] {
    let slash = prefix.lastIndex(of: "/")
    let folderPart = slash.map { String(prefix[...$0]) } ?? ""
    let namePart = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
    var folder = folderPart.isEmpty ? baseDirectory : folderPart
    if folder.hasPrefix("~") { folder = NSString(string: folder).expandingTildeInPath }
    if !folder.hasPrefix("/") { folder = baseDirectory + "/" + folder }
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    var out: [String] = []
    for name in entries.sorted() where name.hasPrefix(namePart) {
        if name.hasPrefix("."), !namePart.hasPrefix(".") { continue }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory)
        if exists && isDirectory.boolValue {
            out.append(folderPart + name + "/")
        } else if extensions.isEmpty || extensions.contains(where: { name.hasSuffix("." + $0) }) {
            out.append(folderPart + name)
        }
    }
    return out
}
