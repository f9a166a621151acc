// Small measuring helpers shared by benchmarks, latency and training reports.
import Foundation

/// The peak resident set of this process in bytes (getrusage's ru_maxrss, kilobytes on Linux).
public func peakRSSBytes() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss * 1024
}

/// The median (the mean of the middle two for an even count; nan when empty).
public func median(_ x: [Double]) -> Double {
    guard !x.isEmpty else { return .nan }
    let s = x.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
