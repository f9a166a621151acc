// The calibration streams (reference-algorithms.md §2.1): numpy's default_rng permutation
// and Python's random.shuffle against vectors numpy/CPython generated
// (scripts/oracles/random_vectors.py), and the streams the reference runs stored, rebuilt
// from ../shared/data with the runs' tokenizers.
import Checkpoints
import Compression
import Corpora
import Foundation
import TestSupport
import Testing
import Tokenizers
import Transformer

let testData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data")
let sharedData = Fixtures.shared.appendingPathComponent("data")

func vectors() throws -> JSONValue { try JSONValue.parse(Data(contentsOf: testData.appendingPathComponent("random_vectors.json"))) }

func storedStream(_ run: String) throws -> (ids: [Int], mask: [Int]) {
    let f = try SafetensorsFile(ReferenceRun(run).url("calibration_stream.safetensors"))
    return (try f.int64s("input_ids").map { Int($0) }, try f.int64s("attention_mask").map { Int($0) })
}

@Suite("calibration streams")
struct CalibrationTests {
    @Test func numpyPermutations() throws {
        let cases = try #require(vectors()["numpy_permutation"]?.arrayValue)
        #expect(cases.count >= 10)
        for c in cases {
            let seed = UInt64(c["seed"]!.intValue!), n = c["n"]!.intValue!
            let want = c["permutation"]!.arrayValue!.map { $0.intValue! }
            #expect(NumpyRandom.permutation(n, seed: seed) == want, "seed \(seed) n \(n)")
        }
    }

    @Test func pcg64RawOutputs() throws {
        for c in try #require(vectors()["pcg64_raw"]?.arrayValue) {
            var g = PCG64(seed: UInt64(c["seed"]!.intValue!))
            // Decimal strings: most outputs exceed Int.max.
            let want = c["next64"]!.arrayValue!.map { UInt64($0.stringValue!)! }
            #expect((0..<want.count).map { _ in g.next64() } == want, "seed \(String(describing: c["seed"]))")
        }
    }

    @Test func pythonShuffles() throws {
        for c in try #require(vectors()["python_shuffle"]?.arrayValue) {
            var r = PythonRandom(seed: UInt64(c["seed"]!.intValue!))
            var a = Array(0..<c["first"]!.arrayValue!.count), b = Array(0..<c["second"]!.arrayValue!.count)
            r.shuffle(&a); r.shuffle(&b)
            #expect(a == c["first"]!.arrayValue!.map { $0.intValue! })
            #expect(b == c["second"]!.arrayValue!.map { $0.intValue! })
        }
    }

    /// The README's first rows of default_rng(10).permutation(3760).
    @Test func readmePrefix() {
        #expect(Array(NumpyRandom.permutation(3760, seed: 10).prefix(10)) == [3500, 8, 3746, 1321, 40, 1089, 3529, 265, 1256, 2857])
    }

    /// wiki2 (validation split standing in for train, as the runs did), one row, tiny tokenizer.
    @Test func wiki2TinyStream() throws {
        let tok = try #require(try Model.load(Fixtures.model("llama").path).tokenizer)
        let s = try Calibration.stream(CalibrationRequest(dataset: .wiki2, amount: .rows(1), seed: 10, seqlen: 32, dataDir: sharedData), tokenizer: tok)
        let ref = try storedStream("cm_llama_bi")
        #expect(s.inputIds == ref.ids)
        #expect(s.attentionMask == ref.mask)
        #expect(s.notes.contains { $0.contains("validation split") })
        let w = try s.windows(seqlen: 32)
        #expect(w.ids.count == 8)
    }

    /// 31 rows joined with "\n\n" on the SmolLM2 tokenizer; --nwindows 8 --seqlen 256 finds the same 31 rows.
    @Test func wiki2SmolLM2Stream() throws {
        guard let d = Fixtures.defaultModel else { return }
        let tok = try #require(try Model.load(d.path).tokenizer)
        let ref = try storedStream("cm_smollm2")
        let s = try Calibration.stream(CalibrationRequest(dataset: .wiki2, amount: .rows(31), seed: 10, seqlen: 256, dataDir: sharedData), tokenizer: tok)
        #expect(s.inputIds == ref.ids)
        let w = try Calibration.stream(CalibrationRequest(dataset: .wiki2, amount: .windows(8), seed: 10, seqlen: 256, dataDir: sharedData), tokenizer: tok)
        #expect(w.rows == 31)
        #expect(w.inputIds == Array(ref.ids.prefix(8 * 256)))
    }

    /// mmlu with --num-tasks 5: Python-random subject and count shuffles, per-subject numpy
    /// row shuffles, per-question right padding with EOS to 256 (run mka_llama).
    @Test func mmluStream() throws {
        let tok = try #require(try Model.load(Fixtures.model("llama").path).tokenizer)
        let ref = try storedStream("mka_llama")
        let s = try Calibration.stream(CalibrationRequest(dataset: .mmlu, amount: .rows(25), seed: 10, seqlen: 256, numTasks: 5, dataDir: sharedData),
                                       tokenizer: tok)
        #expect(s.inputIds.count == ref.ids.count)
        #expect(s.inputIds == ref.ids)
        #expect(s.attentionMask == ref.mask)
        #expect(s.padCount == 1699)
    }

    @Test func alpacaAndC4Build() throws {
        let tok = try #require(try Model.load(Fixtures.model("llama").path).tokenizer)
        // Tiny vocab: long alpaca examples exceed a small window, which is an error (no truncation).
        let a = try Calibration.stream(CalibrationRequest(dataset: .alpaca, amount: .rows(4), seed: 10, seqlen: 2048, dataDir: sharedData), tokenizer: tok)
        #expect(a.count == 4 * 2048)
        #expect(a.attentionMask.prefix(2048).last == 0)
        #expect(throws: CorpusError.self) {
            _ = try Calibration.stream(CalibrationRequest(dataset: .alpaca, amount: .rows(50), seed: 10, seqlen: 16, dataDir: sharedData), tokenizer: tok)
        }
        let c = try Calibration.stream(CalibrationRequest(dataset: .c4, amount: .rows(3), seed: 10, seqlen: 32, dataDir: sharedData), tokenizer: tok)
        #expect(c.count > 32)
        #expect(c.notes.contains { $0.contains("c4-train") })
        #expect(throws: CorpusError.self) {
            _ = try Calibration.stream(CalibrationRequest(dataset: .pg19, amount: .rows(3), seed: 10, dataDir: sharedData), tokenizer: tok)
        }
    }

    @Test func shortStreamIsAnError() throws {
        let s = CalibrationStream(inputIds: Array(0..<100), description: "x")
        #expect(throws: CorpusError.self) { _ = try s.windows(seqlen: 128) }
        #expect(try s.windows(seqlen: 32).ids.count == 3)
    }

    @Test func datasetNames() throws {
        #expect(try CalibrationDataset.named("wiki2") == .wiki2)
        #expect(try CalibrationDataset.named("my_c4_set") == .c4)
        #expect(throws: CorpusError.self) { _ = try CalibrationDataset.named("pile") }
    }

    @Test func csvQuotes() {
        let rows = CSV.rows("a,\"b,c\",\"d\"\"e\"\r\n\"multi\r\nline\",x\n")
        #expect(rows == [["a", "b,c", "d\"e"], ["multi\r\nline", "x"]])
    }
}
