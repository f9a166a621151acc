// The BPE model of HF tokenizers (models/bpe): a word is split into characters, then the
// adjacent pair with the lowest merge rank is merged until none is left, using a binary heap
// of candidate merges over a doubly linked list of symbols (O(n log n) in the word length),
// with the library's unk / fuse_unk / byte_fallback / ignore_merges rules and a word cache.
import Foundation

final class BPE: @unchecked Sendable {
    struct Options {
        var unkToken: String? = nil
        var fuseUnk = false
        var byteFallback = false
        var ignoreMerges = false
        var continuingSubwordPrefix: String? = nil
        var endOfWordSuffix: String? = nil
    }

    /// A merge that the vocabulary cannot express (its parts or result are unknown).
    struct InvalidMerge: Error {
        let index: Int
        let message: String
    }

    let vocab: [ExactString: Int]
    /// Model token strings by id (nil where the vocabulary has a gap).
    let tokens: [String?]
    let options: Options
    let unkId: Int?

    private struct MergeTarget { var rank: Int32; var id: Int32 }
    private let merges: [UInt64: MergeTarget]
    /// Ids of the tokens that are a single scalar, for splitting words without building strings.
    private let scalarIds: [UInt32: Int32]
    /// `<0xXX>` token ids for byte_fallback, -1 where the vocabulary lacks one.
    private let byteIds: [Int32]
    private let plainCharacters: Bool

    // The word cache: pre-tokens repeat heavily in real text (WikiText-2's 1.3 MB has about
    // 30k distinct words), so merging runs once per distinct word. Capped like the library's
    // cache, which stops inserting when full.
    private var cache: [ExactString: [Int]] = [:]
    private let cacheLock = NSLock()
    private let cacheCapacity = 200_000
    private let cacheMaxWordBytes = 256

    init(vocab entries: [(String, Int)], merges pairs: [(String, String)], options: Options) throws {
        var vocab = [ExactString: Int](minimumCapacity: entries.count)
        var maxId = -1
        for (token, id) in entries {
            vocab[ExactString(token)] = id
            maxId = max(maxId, id)
        }
        var tokens = [String?](repeating: nil, count: maxId + 1)
        for (token, id) in entries where id >= 0 { tokens[id] = token }
        var scalarIds: [UInt32: Int32] = [:]
        for (token, id) in entries {
            let u = token.unicodeScalars
            if u.count == 1 { scalarIds[u.first!.value] = Int32(id) }
        }
        let prefixLength = options.continuingSubwordPrefix?.utf8.count ?? 0
        var merges = [UInt64: MergeTarget](minimumCapacity: pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let ia = vocab[ExactString(a)] else { throw InvalidMerge(index: rank, message: "merge part \"\(a)\" is not in the vocabulary") }
            guard let ib = vocab[ExactString(b)] else { throw InvalidMerge(index: rank, message: "merge part \"\(b)\" is not in the vocabulary") }
            // With a continuing-subword prefix the right part carries it, the merged token not.
            let right = prefixLength > 0 && b.utf8.starts(with: options.continuingSubwordPrefix!.utf8)
                ? String(decoding: Array(b.utf8.dropFirst(prefixLength)), as: UTF8.self) : b
            guard let merged = vocab[ExactString(a + right)] else {
                throw InvalidMerge(index: rank, message: "merged token \"\(a + right)\" is not in the vocabulary")
            }
            let key = BPE.pairKey(Int32(ia), Int32(ib))
            // The first occurrence of a pair wins, as when the library builds its merge map
            // from a file whose later duplicates can never apply.
            if merges[key] == nil { merges[key] = MergeTarget(rank: Int32(rank), id: Int32(merged)) }
        }
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = vocab[ExactString(BPE.byteToken(UInt8(b)))] { byteIds[b] = Int32(id) }
        }
        if let unk = options.unkToken {
            guard let id = vocab[ExactString(unk)] else {
                throw InvalidMerge(index: -1, message: "unk_token \"\(unk)\" is not in the vocabulary")
            }
            self.unkId = id
        } else {
            self.unkId = nil
        }
        self.vocab = vocab
        self.tokens = tokens
        self.merges = merges
        self.scalarIds = scalarIds
        self.byteIds = byteIds
        self.options = options
        self.plainCharacters = (options.continuingSubwordPrefix ?? "").isEmpty && (options.endOfWordSuffix ?? "").isEmpty
    }

    /// The byte-fallback token for a byte: `<0x0A>` (upper-case hex, as `{b:#04X}` in Rust).
    static func byteToken(_ b: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "<0x\(hex[Int(b >> 4)])\(hex[Int(b & 15)])>"
    }

    @inline(__always) private static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    func tokenize(_ word: String, into out: inout [Int]) {
        if word.isEmpty { return }
        let key = ExactString(word)
        if options.ignoreMerges, let id = vocab[key] { out.append(id); return }
        cacheLock.lock()
        let hit = cache[key]
        cacheLock.unlock()
        if let hit { out.append(contentsOf: hit); return }
        let ids = merge(word)
        out.append(contentsOf: ids)
        if word.utf8.count <= cacheMaxWordBytes {
            cacheLock.lock()
            if cache.count < cacheCapacity { cache[key] = ids }
            cacheLock.unlock()
        }
    }

    private struct Symbol {
        var id: Int32
        var prev: Int32
        var next: Int32
        var alive: Bool
    }

    /// merge_word: the initial symbols, then every applicable merge in rank order.
    private func merge(_ word: String) -> [Int] {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(word.utf8.count)
        func add(_ id: Int) {
            let n = Int32(symbols.count)
            symbols.append(Symbol(id: Int32(id), prev: n - 1, next: n + 1, alive: true))
        }
        // A pending unknown: the library adds it only when the next known symbol (or the end)
        // arrives, so byte-fallback symbols found meanwhile come before it.
        var pendingUnk = false
        let scalars = Array(word.unicodeScalars)
        for (k, u) in scalars.enumerated() {
            var piece: String? = nil
            var id: Int? = nil
            if plainCharacters {
                if let found = scalarIds[u.value] { id = Int(found) }
            } else {
                var s = String(u)
                if k > 0, let p = options.continuingSubwordPrefix { s = p + s }
                if k == scalars.count - 1, let x = options.endOfWordSuffix { s += x }
                id = vocab[ExactString(s)]
                piece = s
            }
            if let id {
                if pendingUnk, let unk = unkId { add(unk); pendingUnk = false }
                add(id)
                continue
            }
            if options.byteFallback {
                let bytes = Array((piece ?? String(u)).utf8)
                if bytes.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                    for b in bytes { add(Int(byteIds[Int(b)])) }
                    continue
                }
            }
            if let unk = unkId {
                if pendingUnk && !options.fuseUnk { add(unk) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unk = unkId { add(unk) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1].next = -1

        var heap = MergeHeap()
        for i in 0..<(symbols.count - 1) {
            if let m = merges[BPE.pairKey(symbols[i].id, symbols[i + 1].id)] {
                heap.push(.init(rank: m.rank, pos: Int32(i), id: m.id))
            }
        }
        while let top = heap.pop() {
            let p = Int(top.pos)
            guard symbols[p].alive, symbols[p].next >= 0 else { continue }
            let q = Int(symbols[p].next)
            // Entries go stale when a neighbour merged first; the pair must still give this token.
            guard let m = merges[BPE.pairKey(symbols[p].id, symbols[q].id)], m.id == top.id else { continue }
            symbols[p].id = top.id
            symbols[q].alive = false
            symbols[p].next = symbols[q].next
            if symbols[q].next >= 0 { symbols[Int(symbols[q].next)].prev = Int32(p) }
            if symbols[p].prev >= 0 {
                let a = Int(symbols[p].prev)
                if let m = merges[BPE.pairKey(symbols[a].id, top.id)] { heap.push(.init(rank: m.rank, pos: Int32(a), id: m.id)) }
            }
            if symbols[p].next >= 0 {
                let b = Int(symbols[p].next)
                if let m = merges[BPE.pairKey(top.id, symbols[b].id)] { heap.push(.init(rank: m.rank, pos: Int32(p), id: m.id)) }
            }
        }
        var ids: [Int] = []
        ids.reserveCapacity(symbols.count)
        for s in symbols where s.alive { ids.append(Int(s.id)) }
        return ids
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position), the order of the
/// library's `Merge` (lowest rank first, leftmost first among equals).
struct MergeHeap {
    struct Entry { var rank: Int32; var pos: Int32; var id: Int32 }
    private var items: [Entry] = []

    @inline(__always) private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos
    }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard MergeHeap.less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, MergeHeap.less(items[l], items[m]) { m = l }
            if r < n, MergeHeap.less(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
