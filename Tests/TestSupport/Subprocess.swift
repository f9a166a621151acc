// Child processes for tests, without Foundation's Process: posix_spawn, close-on-exec pipes
// (so a child started concurrently by another test never inherits this one's pipe ends and
// holds them open), stdout and stderr read together with poll (a child filling one pipe
// cannot block while we wait on the other), waitpid on the one pid, and a timeout that
// kills the child so a stuck run fails its test instead of hanging the suite. Foundation's
// Process.waitUntilExit was seen to wait forever on an already exited child under the
// suite's parallel process launches.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// glibc's pipe2 (Glibc's module map hides it behind _GNU_SOURCE).
@_silgen_name("pipe2") private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
    }

    public enum Output: Sendable { case capture, discard }

    /// Runs `executable` with `arguments` in `directory` (via env -C), feeding `stdin` (then
    /// closing it; /dev/null when nil); kills it after `timeout` seconds.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                           environment: [String: String]? = nil, stdin: String? = nil,
                           output: Output = .capture, timeout: Double = 900) throws -> Result {
        let (path, argv, env) = command(executable, arguments, directory, environment)

        func pipePair() throws -> (Int32, Int32) {
            var fds: [Int32] = [0, 0]
            guard c_pipe2(&fds, O_CLOEXEC) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            return (fds[0], fds[1])
        }
        let (inR, inW) = try pipePair()
        let (outR, outW) = try pipePair()
        let (errR, errW) = try pipePair()
        let devnull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devnull) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin == nil ? devnull : inR, 0)
        posix_spawn_file_actions_adddup2(&actions, output == .capture ? outW : devnull, 1)
        posix_spawn_file_actions_adddup2(&actions, output == .capture ? errW : devnull, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // The child starts with default signal dispositions and an empty mask.
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, &attr, cArgs, cEnv)
        close(inR); close(outW); close(errW)
        guard rc == 0 else {
            close(inW); close(outR); close(errR)
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO)
        }
        if let s = stdin {
            var bytes = Array(s.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(inW, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes = bytes.dropFirst(n)
            }
        }
        close(inW)

        var out = [UInt8](), err = [UInt8]()
        var open = [outR, errR]
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while !open.isEmpty {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { timedOut = true; kill(pid, SIGKILL); break }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let r = poll(&fds, nfds_t(fds.count), Int32(min(left, 1) * 1000))
            if r < 0 && errno != EINTR { break }
            for f in fds where f.revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(f.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if f.fd == outR { out += buf[0..<n] } else { err += buf[0..<n] }
                } else {
                    close(f.fd)
                    open.removeAll { $0 == f.fd }
                }
            }
        }
        for fd in open { close(fd) }
        var status: Int32 = 0
        while true {
            if !timedOut && Date() > deadline { timedOut = true; kill(pid, SIGKILL) }
            let w = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
            if w == pid { break }
            if w < 0 && errno != EINTR { break }
            if w == 0 { usleep(10_000) }
        }
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
                      timedOut: timedOut)
    }

    /// The path to spawn, its argv (through env -C for a working folder) and its environment.
    static func command(_ executable: String, _ arguments: [String], _ directory: URL?,
                        _ environment: [String: String]?) -> (String, [String], [String]) {
        var argv = [executable] + arguments
        var path = executable
        if let d = directory {
            path = "/usr/bin/env"
            argv = ["/usr/bin/env", "-C", d.path] + argv
        }
        return (path, argv, (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" })
    }

    /// Starts a child with output discarded and returns its pid (for tests that kill it).
    public static func start(_ executable: String, _ arguments: [String], in directory: URL? = nil,
                             environment: [String: String]? = nil) throws -> pid_t {
        let (path, argv, env) = command(executable, arguments, directory, environment)
        let devnull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devnull) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 { posix_spawn_file_actions_adddup2(&actions, devnull, fd) }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        return pid
    }

    /// waitpid for a child `start` made; its exit code, or 128 + signal.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
