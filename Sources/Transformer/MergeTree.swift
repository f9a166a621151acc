// The merge tree of reference-algorithms.md §3.9: a history of layouts, each element an
// original layer index or a (nested) list of earlier elements that were merged into one.
import Checkpoints

public indirect enum MergeNode: Sendable, Equatable, CustomStringConvertible {
    case leaf(Int)
    case group([MergeNode])

    /// Original layer indices under this node, in tree order.
    public var leaves: [Int] {
        switch self {
        case .leaf(let i): return [i]
        case .group(let c): return c.flatMap(\.leaves)
        }
    }
    /// The first integer found by descending into first children.
    public var firstLeaf: Int {
        switch self {
        case .leaf(let i): return i
        case .group(let c): return c.first?.firstLeaf ?? Int.max
        }
    }
    public var description: String {
        switch self {
        case .leaf(let i): return String(i)
        case .group(let c): return "[" + c.map(\.description).joined(separator: ", ") + "]"
        }
    }
    public var json: JSONValue {
        switch self {
        case .leaf(let i): return .int(i)
        case .group(let c): return .array(c.map(\.json))
        }
    }
    public init?(json: JSONValue) {
        if let i = json.intValue { self = .leaf(i); return }
        guard let a = json.arrayValue else { return nil }
        var c: [MergeNode] = []
        for e in a { guard let n = MergeNode(json: e) else { return nil }; c.append(n) }
        self = .group(c)
    }
}

public struct MergeTree: Sendable, Equatable {
    /// Layout 0 is [0, 1, …, L0−1]; each operation appends one layout.
    public private(set) var history: [[MergeNode]]

    public init(layers: Int) { history = [(0..<layers).map { .leaf($0) }] }
    public init(history: [[MergeNode]]) { self.history = history }

    public var current: [MergeNode] { history.last! }

    /// Merges the current positions `positions` into one element at min(positions), the
    /// merged elements ordered by first leaf (§3.9 steps 1–4).
    public mutating func merge(_ positions: [Int]) {
        let ps = Set(positions)
        var layout = current
        let taken = positions.sorted().map { layout[$0] }.sorted { $0.firstLeaf < $1.firstLeaf }
        layout = layout.enumerated().filter { !ps.contains($0.offset) }.map(\.element)
        layout.insert(.group(taken), at: positions.min()!)
        history.append(layout)
    }

    /// Removes the current positions (plain layer removal).
    public mutating func remove(_ positions: [Int]) {
        let ps = Set(positions)
        history.append(current.enumerated().filter { !ps.contains($0.offset) }.map(\.element))
    }

    public mutating func insert(_ node: MergeNode, at position: Int) {
        var layout = current
        layout.insert(node, at: position)
        history.append(layout)
    }

    public var json: JSONValue { .array(history.map { .array($0.map(\.json)) }) }

    public init?(json: JSONValue) {
        guard let a = json.arrayValue, !a.isEmpty else { return nil }
        var h: [[MergeNode]] = []
        for l in a {
            guard let els = l.arrayValue else { return nil }
            var layout: [MergeNode] = []
            for e in els { guard let n = MergeNode(json: e) else { return nil }; layout.append(n) }
            h.append(layout)
        }
        history = h
    }
}
