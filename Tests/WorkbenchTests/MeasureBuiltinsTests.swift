// `params` and `latency` on the llama fixture, in process: the fields a script reads, the
// table they show as, what the session log records (timings as measurements, which replay
// does not compare: a log with a latency call replays clean), and `come params/latency`.
import Foundation
import Script
import TestSupport
import Testing
import Workbench

private func session() -> (Session, CapturedOutput) {
    let out = CapturedOutput()
    return (Session(builtins: Host.builtins(), output: out), out)
}

private func value(_ s: Session, _ code: String) throws -> Value {
    let r = s.evaluateCell(code)
    #expect(r.status == .ok, "\(code): \(r.diagnostics.map { s.render($0) })")
    return try #require(r.value, "\(code) has no value")
}

@Test func paramsFieldsAndTable() throws {
    let (s, _) = session()
    _ = s.evaluateCell("m = load(\"\(Fixtures.model("llama").path)\")\nsmall = remove(m, [1, 2])")
    #expect(try value(s, "params(m).total") == .int(324_416))
    #expect(try value(s, "params(m).embeddings") == .int(65_536))
    #expect(try value(s, "params(m).bf16_bytes") == .int(648_832))
    #expect(try value(s, "len(params(small).per_layer)") == .int(4))
    #expect(try value(s, "params(small).per_layer[3]") == .record(Record([
        ("layer", .int(3)), ("attention", .int(12_288)), ("mlp", .int(30_720)), ("norms", .int(128)), ("total", .int(43_136))])))
    guard case .float(let ratio) = try value(s, "params(small, against=m).ratio"),
          case .float(let removed) = try value(s, "params(small, against=m).removed") else { Issue.record("ratio is not a float"); return }
    #expect(abs(ratio - 324_416.0 / 238_144.0) < 1e-12)
    #expect(abs(removed - 86_272.0 / 324_416.0) < 1e-12)
    #expect(try value(s, "type(params(m).record)") == .string("record"))

    guard case .host(let h) = try value(s, "params(small, against=m)") else { Issue.record("not a host value"); return }
    let text = h.render(DisplayOptions())
    #expect(text.contains("against 324416: ratio 1.3623×, 26.59 % removed (86272 parameters)"))
    #expect(text.contains("| layers 0–3, each |     12288 |  30720 |   128 |      43136 |  18.11 % |"))
    #expect(text.contains("| all 4 layers     |     49152 | 122880 |   512 |     172544 |  72.45 % |"))
    #expect(text.contains("| total            |           |        |       |     238144 | 100.00 % |"))
    let call = try #require(s.records.last?.calls.first)
    #expect(call.name == "params" && call.results["total"] == .int(238_144))
}

@Test func latencyFieldsAndLogReplay() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let logPath = dir.appendingPathComponent("s.jsonl").path
    let (s, _) = session()
    s.log = try SessionLogWriter.create(path: logPath, header: Host.header())
    _ = s.evaluateCell("m = load(\"\(Fixtures.model("llama").path)\")\nsmall = remove(m, [1, 2, 3])")
    _ = try value(s, "l = latency(small, against=m, prompt=16, generate=3, prompt_tokens=4, reps=3, warmup=0)\nl")
    #expect(try value(s, "l.layers") == .int(3))
    #expect(try value(s, "l.against.layers") == .int(6))
    #expect(try value(s, "keys(l.prompt_ms)") == .list(["median", "min", "max", "mean"].map(Value.string)))
    #expect(try value(s, "l.prompt_ms.min <= l.prompt_ms.median and l.prompt_ms.median <= l.prompt_ms.max") == .bool(true))
    #expect(try value(s, "abs(l.prompt_speedup - l.against.prompt_ms.median / l.prompt_ms.median) < 1e-9") == .bool(true))
    #expect(try value(s, "abs(l.gen_speedup - l.against.gen_ms.median / l.gen_ms.median) < 1e-9") == .bool(true))
    #expect(try value(s, "abs(l.prompt_tokens_per_s - 16000 / l.prompt_ms.median) < 1e-6 * l.prompt_tokens_per_s") == .bool(true))
    #expect(try value(s, "abs(l.gen_tokens_per_s - 3000 / l.gen_ms.median) < 1e-6 * l.gen_tokens_per_s") == .bool(true))
    #expect(try value(s, "l.settings.gen_reps") == .int(2))
    let only = try value(s, "latency(m, prompt=0, generate=2, prompt_tokens=3, reps=1, warmup=0)")
    guard case .host(let h) = only else { Issue.record("not a host value"); return }
    #expect(h.field("prompt_ms") == nil && h.field("gen_ms") != nil && h.field("prompt_speedup") == nil)
    #expect(h.render(DisplayOptions()).contains("| generate 3 + 2, ms (median of 1) |"))

    let call = try #require(s.records.first { $0.source.hasPrefix("l = latency") }?.calls.first)
    #expect(call.results == ["layers": .int(3)])
    #expect(call.measured["prompt_speedup"] != nil && call.measured["prompt_ms"] != nil)
    let statements = s.records.count
    s.log = nil
    let report = try Replay.run(log: logPath, options: ReplayOptions(), output: CapturedOutput())
    #expect(report.ok, "\(report.divergence ?? "")")
    #expect(report.replayed == statements)
}

@Test func paramsAndLatencyCommands() throws {
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let llama = Fixtures.model("llama").path
    let p = try ComeBinary.run(["params", llama], in: dir)
    #expect(p.status == 0, "\(p.stderr)")
    #expect(p.stdout.contains("parameters of \(llama): 324416 (324.4K); fp32 1.2 MiB, bf16 633.6 KiB"))
    #expect(p.stdout.contains("| layers 0–5, each |     12288 |  30720 |   128 |      43136 |  13.30 % |"))
    let l = try ComeBinary.run(["latency", llama, "--prune-to", "2", "--prompt", "16", "--prompt-reps", "2",
                                "--gen-prompt", "4", "--generate", "3", "--gen-reps", "1", "--warmup", "0"], in: dir)
    #expect(l.status == 0, "\(l.stderr)")
    #expect(l.stdout.contains("| measure "), "\(l.stdout)")
    #expect(l.stdout.contains("| 2 layers "))
    #expect(l.stdout.contains("| against (6 layers) | speedup |"))
    #expect(l.stdout.contains("| prompt 1×16, ms (median of 2) "))
    #expect(l.stdout.contains("| generate 4 + 3, ms (median of 1) "))
    let both = try ComeBinary.run(["latency", llama, "--prune-to", "2", "--against", llama], in: dir)
    #expect(both.status != 0 && both.stderr.contains("not both"))
}
