// A read-only memory map of a whole file (POSIX mmap), shared by the safetensors and GGUF
// readers: tensors are converted straight from the mapped pages into fp32 buffers, so a
// checkpoint is never held twice in memory.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class MappedFile: @unchecked Sendable {
    public let url: URL
    /// nil only for an empty file (mmap refuses length 0).
    private let base: UnsafeMutableRawPointer?
    public let count: Int

    public init(_ url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError(url, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw CheckpointError(url, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw CheckpointError(url, "not a regular file") }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw CheckpointError(url, "cannot map \(count) bytes: \(String(cString: strerror(errno)))")
        }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Drops the whole pages inside bytes [offset, offset + length) from the resident set
    /// (a hint: they are re-read from the page cache if touched again).
    public func releasePages(offset: Int, length: Int) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page
        let end = min(count, offset + length) / page * page
        guard end > start else { return }
        #if canImport(Glibc)
        _ = madvise(base + start, end - start, Int32(MADV_DONTNEED))
        #else
        _ = madvise(base + start, end - start, MADV_DONTNEED)
        #endif
    }

    /// Drops the mapped pages from this process's resident set once their contents have been
    /// converted; they are re-read from the page cache if touched again.
    public func releasePages() {
        #if canImport(Glibc)
        if let base { _ = madvise(base, count, Int32(MADV_DONTNEED)) }
        #else
        if let base { _ = madvise(base, count, MADV_DONTNEED) }
        #endif
    }
}
