// The libFuzzer target for the lexer and parser (built by scripts/fuzz-script with
// -sanitize=fuzzer -DSCRIPT_FUZZ). Without SCRIPT_FUZZ it runs the same check on each file
// named on the command line, to reproduce a crash from a saved input.

import Foundation
import Script

/// Parses the input; a crash, or a broken invariant, is a finding:
/// - the parser throws only `Diagnostic`s, and each points inside the input;
/// - input that parses has its brackets balanced, so `isComplete` says true.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    let text = String(decoding: bytes, as: UTF8.self)
    // Lines end at U+000A scalars (a "\r\n" grapheme too), as the lexer counts them.
    let lineCount = text.unicodeScalars.filter { $0 == "\n" }.count + 1
    do {
        let program = try Program(parsing: text, file: "fuzz.come")
        precondition(Session.isComplete(text), "parsed input reported incomplete")
        _ = program.statements.count
    } catch let d as Diagnostic {
        if let r = d.range {
            precondition(r.line >= 1 && r.line <= lineCount && r.column >= 1, "diagnostic outside the input: \(r)")
        }
        _ = d.rendered
    } catch {
        preconditionFailure("the parser threw a non-diagnostic error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOne(UnsafeBufferPointer(start: data, count: size))
    return 0
}

#if SCRIPT_FUZZ
typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: FuzzCallback) -> Int32

// SwiftPM gives executables their own `main`, so libFuzzer's is not used: start its driver.
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { LLVMFuzzerTestOneInput($0, $1) })
#else
let paths = CommandLine.arguments.dropFirst()
if paths.isEmpty {
    let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    input.withUnsafeBufferPointer(fuzzOne)
} else {
    for path in paths {
        guard let data = FileManager.default.contents(atPath: path) else {
            FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
            exit(2)
        }
        [UInt8](data).withUnsafeBufferPointer(fuzzOne)
        print("ok \(path)")
    }
}
#endif
