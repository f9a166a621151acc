// The thread count used by OpenBLAS and by our own parallel loops, from --threads or
// COME_THREADS (default: every core).
import COpenBLAS
import Dispatch
import Foundation

public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        if let s = ProcessInfo.processInfo.environment["COME_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }()
    nonisolated(unsafe) private static var applied = false

    public static var count: Int {
        if !applied { set(current) }
        return current
    }

    public static func set(_ n: Int) {
        current = max(1, n)
        openblas_set_num_threads(Int32(current))
        applied = true
    }

    /// Runs `body(i)` for i in 0..<n over at most `count` threads.
    public static func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        let t = min(count, n)
        if t <= 1 {
            for i in 0..<n { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: t) { w in
                for i in (w * n / t)..<((w + 1) * n / t) { body(i) }
            }
        }
    }

    public static var blasConfig: String { String(cString: openblas_get_config()) }
}
