// Unit tests of the exact rules (reference-algorithms.md §3.5 block_ratio, §3.6 the
// distribute_and_round examples, §3.9 and §4.8 the merge-tree examples, §3.10 wo-repeat),
// and the info-JSON writer against the reference's own files (§8.2 point 10).
import Compression
import Foundation
import TestSupport
import Testing
import Transformer

@Suite("budgets, merge tree, wo-repeat, info JSON")
struct BudgetTests {
    @Test(arguments: [
        (32, [0.5, 0.5], [16, 16]),
        (32, [0.3, 0.3, 0.4], [9, 9, 14]),
        (11008, [0.3, 0.7], [3302, 7706]),
        (8, [0.05, 0.95], [0, 8]),
        (2, [0.5283775632790971, 0.47162243672090287], [2, 0]),
        (160, [0.5283775632790971, 0.47162243672090287], [85, 75]),
        (160, [0.42538, 0.303616, 0.271004], [69, 48, 43]),
    ])
    func distributeAndRound(_ n: Int, _ q: [Double], _ want: [Int]) {
        #expect(Budget.distributeAndRound(n, q) == want)
    }

    @Test func blockRatioDefaultsAreShares() {
        let q = Budget.blockRatio([4.488823572794597, 4.006661256154378], power: 1, floor: 0)
        #expect(abs(q[0] - 0.5283775632790971) < 1e-15)
        #expect(abs(q[0] + q[1] - 1) < 1e-15)
    }

    /// cm_llama_psu: --psu 2 --min-max 0.8: the floor μ = 0.8^(1/(leaves−1)) lifts the largest share.
    @Test func blockRatioFloor() {
        let q = Budget.blockRatio([4.488823572794597, 4.006661256154378], power: 2, floor: 0.8)
        #expect(q[0] == 0.8 && abs(q[1] - 0.2) < 1e-15)
        let mu3 = pow(0.8, 1.0 / 2), mu4 = pow(0.8, 1.0 / 3)
        #expect(abs(mu3 - 0.894427) < 1e-6 && abs(mu4 - 0.928318) < 1e-6)
        let q3 = Budget.blockRatio([1, 1, 1], power: 1, floor: 0.5)
        #expect(q3[0] == 0.5 && abs(q3[1] - 0.25) < 1e-15 && q3[1] == q3[2])
        // All others zero: the remainder is split evenly.
        #expect(Budget.blockRatio([1, 0, 0], power: 1, floor: 1.5) == [1.5, -0.25, -0.25])
    }

    @Test func keepTopTiesGoToHigherIndex() {
        #expect(Budget.keepTop([0.1, 0.5, 0.5, 0.2], 1) == [2])
        #expect(Budget.keepTop([0.1, 0.5, 0.5, 0.2], 2) == [1, 2])
        #expect(Budget.keepTop([3, 1, 2], 2) == [0, 2])
        #expect(Budget.keepTop([3, 1, 2], 0) == [])
    }

    @Test func firstArgmin() {
        #expect(Budget.firstArgmin([3, 1, 1, 2]) == 1)
        #expect(Budget.firstArgmin([.infinity, .infinity]) == 0)
    }

    /// §3.9: [0..5], merging [2,3], [1,2], [0,1].
    @Test func mergeTreeExample() {
        var t = MergeTree(layers: 6)
        t.merge([2, 3]); t.merge([1, 2]); t.merge([0, 1])
        #expect(t.history.map { $0.map(\.description) } == [
            ["0", "1", "2", "3", "4", "5"], ["0", "1", "[2, 3]", "4", "5"], ["0", "[1, [2, 3]]", "4", "5"], ["[0, [1, [2, 3]]]", "4", "5"],
        ])
    }

    /// §4.8's observed layouts, 6 → 3 (and 6 → 2 with merge-item 3).
    @Test(arguments: [
        ([[0, 1], [0, 1], [0, 1]], "[[[[0, 1], 2], 3], 4, 5]"),
        ([[0, 1], [1, 2], [2, 3]], "[[0, 1], [2, 3], [4, 5]]"),
        ([[0, 1, 2], [0, 1, 2]], "[[[0, 1, 2], 3, 4], 5]"),
        ([[4, 5], [3, 4], [2, 3]], "[0, 1, [2, [3, [4, 5]]]]"),
    ])
    func mergeTreeLayouts(_ merges: [[Int]], _ want: String) {
        var t = MergeTree(layers: 6)
        for m in merges { t.merge(m) }
        #expect("[" + t.current.map(\.description).joined(separator: ", ") + "]" == want)
        #expect(MergeTree(json: t.json) == t)
    }

    @Test func woRepeatExclusions() {
        // m = 2: {p−1, p}.
        #expect(Budget.woRepeatExclusions([false, false, true, false, false], mergeItem: 2, windows: 4).excluded == [1, 2])
        // The merged element is the last layer: window p does not exist (the reference's IndexError).
        let last = Budget.woRepeatExclusions([false, false, false, false, true], mergeItem: 2, windows: 4)
        #expect(last.excluded == [3] && last.dropped == [4])
        // m = 3: p−2 … p+1, negatives dropped (Q5's wider range reproduced).
        #expect(Budget.woRepeatExclusions([true, false, false, false, false, false], mergeItem: 3, windows: 4).excluded == [0, 1])
        #expect(Budget.woRepeatExclusions([false, false, false, true, false, false], mergeItem: 3, windows: 4).excluded == [1, 2, 3])
        #expect(Budget.woRepeatExclusions([false, false, false, true, false, false], mergeItem: 3, windows: 4).dropped == [4])
    }

    /// Parsing and re-writing the reference's info files gives them back byte for byte
    /// (Python's indent=4 layout, float repr, bare Infinity).
    @Test(arguments: ["cm_llama_bi/llama_concat_merge_bi_info.json", "cm_llama_mka_worepeat/llama_concat_merge_mka_info.json",
                      "sleb_llama/sleb_info.json", "shortgpt_llama/shortgpt_info.json", "magnitude_llama/magnitude+_info.json",
                      "cm_smollm2/smollm2-135m-hf_concat_merge_bi_info.json", "cm_llama_bi/concat_merge_args.json"])
    func infoJSONRoundTrip(_ file: String) throws {
        let text = try String(contentsOf: Fixtures.fixtures.appendingPathComponent("reference/\(file)"), encoding: .utf8)
        let j = try InfoJSON.parse(text)
        #expect(j.serialized(bareInfinity: true) == text)
        #expect(try InfoJSON.parse(j.serialized(bareInfinity: false)).keys == j.keys)
    }

    @Test func standardJSONInfinity() throws {
        let j = InfoJSON.object([("a", .numbers([1.5, .infinity])), ("b", .double(1e-5)), ("c", .double(1e16))])
        let s = j.serialized(bareInfinity: false)
        #expect(s.contains("\"Infinity\""))
        #expect(s.contains("1e-05") && s.contains("1e+16"))
        #expect(try JSONSerialization.jsonObject(with: Data(s.utf8)) is [String: Any])
        #expect(j.serialized(bareInfinity: true).contains(" Infinity\n"))
    }
}
