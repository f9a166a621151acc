// The one error type of the Tokenizers module: which file (or GGUF metadata) was being read,
// which field or JSON path was wrong, and what was wrong with it. Loading never traps on bad
// input; it throws one of these.
import Foundation

public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    /// The file being read (a path), or a description such as "GGUF tokenizer metadata".
    public let file: String
    /// The field or JSON path at fault, e.g. `model.merges[12]`; empty when the whole file is.
    public let field: String
    public let message: String

    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "\(file): \(message)" : "\(file): \(field): \(message)"
    }
}
