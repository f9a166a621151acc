// Writing files and folders so that a reader never sees a half-written one: everything is
// written under a temporary name in the same folder (same file system) and renamed into
// place, which POSIX rename makes atomic.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicFile {
    /// A sibling path of `url` that no one else will pick: `.<name>.tmp-<uuid>`.
    static func temporarySibling(of url: URL, tag: String = "tmp") -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(tag)-\(UUID().uuidString)")
    }

    /// Calls `body` with a handle on a temporary sibling of `url`, flushes it to disk and
    /// renames it over `url`; on any error the temporary file is removed and `url` is untouched.
    static func write(_ url: URL, _ body: (FileHandle) throws -> Void) throws {
        let tmp = temporarySibling(of: url)
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw CheckpointError(url, "cannot create \(tmp.lastPathComponent) in \(url.deletingLastPathComponent().path)")
        }
        do {
            let h = try FileHandle(forWritingTo: tmp)
            do {
                try body(h)
                try h.synchronize()
                try h.close()
            } catch {
                try? h.close()
                throw error
            }
            try rename(tmp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if error is CheckpointError { throw error }
            throw CheckpointError(url, "write failed: \(error)")
        }
    }

    /// `data` as the file `url`, complete or not at all.
    public static func write(_ url: URL, data: Data) throws {
        try write(url) { try $0.write(contentsOf: data) }
    }

    static func rename(_ from: URL, to: URL) throws {
        guard Glibc_rename(from.path, to.path) == 0 else {
            throw CheckpointError(to, "cannot rename \(from.lastPathComponent) into place: \(String(cString: strerror(errno)))")
        }
    }
}

@inline(__always)
private func Glibc_rename(_ a: String, _ b: String) -> Int32 {
    #if canImport(Glibc)
    return Glibc.rename(a, b)
    #else
    return Darwin.rename(a, b)
    #endif
}
