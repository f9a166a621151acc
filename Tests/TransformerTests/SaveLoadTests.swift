// Saving as an HF folder and loading it back: identical logits, merge tree restored,
// tokenizer files carried (copied from HF folders, written from a GGUF's vocabulary).
import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing
import Transformer

@Test(arguments: ["llama", "qwen3", "opt"])
func editedModelRoundTripsThroughAnHFFolder(name: String) throws {
    var m = try loadFixtureModel(name)
    try m.removeLayers([1])
    try m.replaceLayers([2, 3], with: m.layers[3])
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("saved")
    try ModelSaver.save(m, to: out)
    let back = try Model.load(out.path)
    #expect(back.numLayers == 4)
    #expect(back.mergeTree == m.mergeTree)
    let ids = [[5, 17, 300, 42, 7, 99, 1, 2]]
    // Same weights, so only BLAS rounding may differ: parallel tests change OpenBLAS's global
    // thread count (attention runs single-threaded BLAS in its workers), which picks other kernels.
    let ref = try m.forward(ids).logits!.data
    #expect(maxAbsDiff(try back.forward(ids).logits!.data, ref) <= tolerance(ref, scale: 1e-6))
    #expect(back.tokenizer!.encode("The GNU General Public License") == m.tokenizer!.encode("The GNU General Public License"))
    let cfg = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("config.json")))
    #expect(cfg["num_hidden_layers"]?.intValue == 4)
    // bf16 storage: every weight rounds to nearest even.
    let bf = dir.appendingPathComponent("bf16")
    try ModelSaver.save(m, to: bf, dtype: .bf16)
    let st = try SafetensorsFile(bf.appendingPathComponent("model.safetensors"))
    let name0 = m.namedTensors()[0]
    #expect(try st.tensor(name0.name).data == name0.tensor.data.map { bf16ToF32(f32ToBF16($0)) })
}

@Test func ggufModelSavesATokenizerTransformersCanLoad() throws {
    let m = try Smol.model()
    let dir = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("smol")
    var small = m
    try small.removeLayers(Array(2..<30))
    try ModelSaver.save(small, to: out)
    #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.json").path))
    let back = try Model.load(out.path)
    // The written tokenizer.json gives the GGUF tokenizer's ids on every fixture case text.
    let cases = try String(contentsOf: Fixtures.url("fixtures/tokenizers/cases/smollm2.jsonl"), encoding: .utf8)
    for line in cases.split(separator: "\n") {
        let c = try JSONValue.parse(String(line))
        let text = c["text"]!.stringValue!
        #expect(back.tokenizer!.encode(text) == m.tokenizer!.encode(text), "\(c["name"]!.stringValue!)")
        #expect(back.tokenizer!.encode(text) == c["ids"]!.arrayValue!.map { $0.intValue! })
    }
    let ids = [[504, 3575, 282, 4649, 314]]
    let ref = try small.forward(ids).logits!.data
    #expect(maxAbsDiff(try back.forward(ids).logits!.data, ref) <= tolerance(ref, scale: 1e-6))
    #expect(back.mergeTree.current.map(\.description) == ["0", "1"])
}
