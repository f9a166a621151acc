// Stand-ins for what Workbench registers: a host object with fields and a fingerprint, and
// a few host builtins (load, merge, measure) declared through the same builtin table.

import Foundation
@testable import Script

final class TestModel: HostObject {
    let name: String
    var layers: Int

    init(name: String, layers: Int) {
        self.name = name
        self.layers = layers
    }

    var typeName: String { "model" }
    var summary: String { "<model \(name), \(layers) layers>" }
    var fieldNames: [String] { ["layers", "name"] }

    func field(_ n: String) -> Value? {
        switch n {
        case "layers": return .int(layers)
        case "name": return .string(name)
        default: return nil
        }
    }

    /// Not a real hash; stable and distinct per content, 64 hex digits like SHA-256.
    var fingerprint: String? {
        var h: UInt64 = 1469598103934665603
        for b in "\(name)/\(layers)".utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        let part = String(h, radix: 16)
        let one = String(repeating: "0", count: 16 - part.count) + part
        return String(repeating: one, count: 4)
    }
}

/// The general builtins plus load/merge/measure, as a host would register them.
func hostBuiltins() -> Builtins {
    let b = Builtins.general()
    b.register(BuiltinSpec("load", [ParamSpec("path", .string, completer: .files(extensions: ["gguf"])),
                                    ParamSpec("seed", .optional(.int), default: .none)],
                           returns: .host("model"), effects: [.readsFiles], category: "model",
                           help: "Loads a model.") { a, ctx in
        let seed = try a.optionalInt("seed") ?? 1234
        ctx.recordResolved("seed", .int(seed))
        return .host(TestModel(name: try a.string("path"), layers: 30))
    })
    b.register(BuiltinSpec("merge", [ParamSpec("m", .host("model"), completer: .variables(ofType: "model")),
                                     ParamSpec("layers", .listOf(.int)),
                                     ParamSpec("scores", default: .none)],
                           returns: .host("model"), effects: [.changesModel], category: "model",
                           help: "Merges layers.") { a, _ in
        let m = try a.host("m", as: TestModel.self)
        let layers = try a.list("layers")
        return .host(TestModel(name: m.name, layers: m.layers - max(0, layers.count - 1)))
    })
    b.register(BuiltinSpec("measure", [ParamSpec("m", .host("model")), ParamSpec("nsamples", .int, default: .int(16))],
                           returns: .float, category: "model", help: "A fake perplexity.") { a, ctx in
        let m = try a.host("m", as: TestModel.self)
        let ppl = 10.0 + Double(30 - m.layers)
        ctx.recordResult("ppl", .float(ppl))
        return .float(ppl)
    })
    return b
}

func temporaryFolder() -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("come-script-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}
