// The one error type of checkpoint reading and writing: which file, which tensor or
// metadata key (if any), and what is wrong with it, so a bad download is diagnosable
// from the message alone.
import Foundation

public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// Path of the file or folder concerned.
    public let file: String
    /// The tensor, metadata key or config field concerned; nil when the file as a whole is.
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public init(_ url: URL, field: String? = nil, _ message: String) {
        self.init(file: url.path, field: field, message)
    }

    public var description: String {
        if let f = field { return "\(file): `\(f)`: \(message)" }
        return "\(file): \(message)"
    }
}
