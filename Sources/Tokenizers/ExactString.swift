// A String compared and hashed by its exact UTF-8 bytes: the key type of every vocabulary,
// added-token table and word cache. Swift's own String equality is canonical equivalence
// ("é" == "e\u{301}"), which would merge distinct vocabulary entries, and it hashes non-ASCII
// text through normalisation; the tokenizers library compares bytes.
import Foundation

struct ExactString: Hashable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: ExactString, b: ExactString) -> Bool {
        let u = a.string.utf8, v = b.string.utf8
        guard u.count == v.count else { return false }
        if u.isEmpty { return true }
        let fast = u.withContiguousStorageIfAvailable { p in
            v.withContiguousStorageIfAvailable { q in memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 }
        }
        if let fast, let result = fast { return result }
        return u.elementsEqual(v)
    }

    func hash(into hasher: inout Hasher) {
        let u = string.utf8
        let done: Void? = u.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for b in u { hasher.combine(b) } }
    }
}
