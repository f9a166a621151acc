// The default model (the real SmolLM2-135M-Instruct Q4_1 GGUF, placed by scripts/setup)
// against transformers' float32 outputs for four prompts (fixtures README §4).
import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

struct SmolPrompt: Sendable, CustomStringConvertible {
    let name: String
    let ids: [Int]
    let greedy16: [Int]
    let untilEOS: [Int]?
    var description: String { name }
}

func smolPrompts() throws -> [SmolPrompt] {
    let data = try Data(contentsOf: Fixtures.url("fixtures/smollm2/prompts.json"))
    let j = try JSONValue.parse(data)
    return j["prompts"]!.arrayValue!.map { p in
        SmolPrompt(name: p["name"]!.stringValue!, ids: p["input_ids"]!.arrayValue!.map { $0.intValue! },
                   greedy16: p["greedy16_new_ids"]!.arrayValue!.map { $0.intValue! },
                   untilEOS: p["greedy_until_eos_new_ids"]?.arrayValue?.map { $0.intValue! })
    }
}

enum Smol {
    nonisolated(unsafe) static var cached: Model?
    static let lock = NSLock()
    static func model() throws -> Model {
        lock.lock(); defer { lock.unlock() }
        if let m = cached { return m }
        guard Fixtures.defaultModel != nil else {
            throw ModelError("the default model is missing: run scripts/setup")
        }
        let m = try Model.load(Fixtures.defaultModel!.path)
        cached = m
        return m
    }
}

@Test(arguments: try smolPrompts())
func smolLM2MatchesTransformers(prompt: SmolPrompt) throws {
    let m = try Smol.model()
    let out = try SafetensorsFile(Fixtures.url("fixtures/smollm2/outputs.safetensors"))
    let r = try m.forward([prompt.ids], options: ForwardOptions(hiddenStates: true))
    let V = m.vocabSize, T = prompt.ids.count
    let logits = r.logits!.data
    // Last-position logits within 2e-3 absolute.
    let last = Array(logits[((T - 1) * V)..<(T * V)])
    let refLast = try out.tensor("\(prompt.name).last_logits").data
    let d = maxAbsDiff(last, refLast)
    #expect(d < 2e-3, "\(prompt.name): last logits max abs diff \(d)")
    // Top-10 ids at every position; the stored top-10 logits within 2e-3 too.
    let top = try out.int64s("\(prompt.name).top10_ids").map { Int($0) }
    let topLogits = try out.tensor("\(prompt.name).top10_logits").data
    for t in 0..<T {
        let row = Array(logits[(t * V)..<((t + 1) * V)])
        let mine = Array(row.indices.sorted { row[$0] > row[$1] }.prefix(10))
        #expect(mine == Array(top[(t * 10)..<((t + 1) * 10)]), "\(prompt.name) position \(t) top-10")
        for k in 0..<10 { #expect(abs(row[top[t * 10 + k]] - topLogits[t * 10 + k]) < 2e-3) }
    }
    // Hidden-state norms (entry 0 embeddings … entry 30 final norm), relative 1e-4.
    let norms = try out.tensor("\(prompt.name).hidden_norms").data
    let H = m.hiddenSize
    for (i, h) in r.hiddenStates!.enumerated() {
        for t in 0..<T {
            var s = 0.0
            for j in 0..<H { s += Double(h.data[t * H + j]) * Double(h.data[t * H + j]) }
            let ref = Double(norms[i * T + t])
            #expect(abs(s.squareRoot() - ref) <= 1e-4 * max(1, ref), "\(prompt.name) hidden_norms[\(i)][\(t)]")
        }
    }
    let g = try m.generate(prompt: prompt.ids, options: SamplingOptions(maxNewTokens: 16, stopAtEOS: false))
    #expect(g == prompt.greedy16, "\(prompt.name) greedy 16")
    if let until = prompt.untilEOS {
        let e = try m.generate(prompt: prompt.ids, options: SamplingOptions(maxNewTokens: 64))
        #expect(e == until, "\(prompt.name) greedy until <|im_end|>")
    }
}

@Test func smolLM2TokenizerFromGGUFMatchesPromptIds() throws {
    let m = try Smol.model()
    let data = try Data(contentsOf: Fixtures.url("fixtures/smollm2/prompts.json"))
    let j = try JSONValue.parse(data)
    for p in j["prompts"]!.arrayValue! {
        #expect(m.tokenizer!.encode(p["text"]!.stringValue!) == p["input_ids"]!.arrayValue!.map { $0.intValue! }, "\(p["name"]!.stringValue!)")
    }
    #expect(m.numLayers == 30 && m.hiddenSize == 576 && m.config.numKVHeads == 3 && m.lmHead == nil)
}
