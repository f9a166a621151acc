// Progress of long work on stderr: a bar with rate and ETA on a terminal, plain lines
// (about every 10 %, and the last) otherwise.
import Foundation

final class ProgressReporter {
    let label: String
    let unit: String
    let isTerminal = isatty(2) != 0
    let start = Date()
    var lastPrinted = -1
    var lastDraw = Date.distantPast

    init(_ label: String, unit: String) { self.label = label; self.unit = unit }

    func update(_ done: Int, _ total: Int) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        if isTerminal {
            if done < total && Date().timeIntervalSince(lastDraw) < 0.1 { return }
            lastDraw = Date()
            let width = 30
            let filled = total > 0 ? width * done / total : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            var line = "\r\(label) \(bar) \(done)/\(total) \(unit)  \(String(format: "%.2f", rate)) \(unit)/s"
            line += done < total ? "  ETA \(formatSeconds(eta))" : "  \(formatSeconds(elapsed))"
            FileHandle.standardError.write(Data((line + (done >= total ? "\n" : "")).utf8))
        } else {
            let step = max(1, total / 10)
            if done == total || done / step != lastPrinted / step {
                lastPrinted = done
                FileHandle.standardError.write(Data("\(label): \(done)/\(total) \(unit), \(String(format: "%.2f", rate)) \(unit)/s, elapsed \(formatSeconds(elapsed))\n".utf8))
            }
        }
    }
}

func formatSeconds(_ s: Double) -> String {
    if s < 60 { return String(format: "%.1fs", s) }
    let m = Int(s) / 60
    return "\(m)m\(String(format: "%02d", Int(s) % 60))s"
}
