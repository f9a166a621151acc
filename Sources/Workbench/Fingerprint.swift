// SHA-256 fingerprints of what the session log records: a model's weights (every tensor's
// name, shape and fp32 bytes, in save order) and token streams (the ids as little-endian
// 64-bit integers). Replay compares these exactly.
import Crypto
import Foundation
import Tensors
import Transformer

enum Fingerprint {
    static func hex<D: Digest>(_ d: D) -> String { d.map { String(format: "%02x", $0) }.joined() }

    static func model(_ m: Model) -> String {
        var h = SHA256()
        for (name, t) in m.namedTensors() {
            h.update(data: Data(name.utf8))
            var dims = t.shape.map { UInt64($0).littleEndian }
            dims.withUnsafeBytes { h.update(bufferPointer: $0) }
            t.data.withUnsafeBytes { h.update(bufferPointer: $0) }
        }
        return hex(h.finalize())
    }

    static func tokens(_ ids: [Int]) -> String {
        var h = SHA256()
        var v = ids.map { Int64($0).littleEndian }
        v.withUnsafeBytes { h.update(bufferPointer: $0) }
        return hex(h.finalize())
    }

    static func text(_ s: String) -> String { hex(SHA256.hash(data: Data(s.utf8))) }

    static func tokens(_ windows: [[Int]]) -> String { tokens(windows.flatMap { $0 + [-1] }) }
}
