// NumPy's `default_rng(seed).permutation(n)`, bit for bit: SeedSequence entropy mixing,
// PCG64 (XSL-RR 128/64) and Generator.shuffle's Fisher–Yates with masked rejection on
// buffered 32-bit draws. The HF `datasets` row shuffle (reference-algorithms.md §2.1, §8.1.2).

/// numpy.random.SeedSequence for a non-negative integer entropy, no spawn key.
public struct SeedSequence: Sendable {
    static let initA: UInt32 = 0x43b0_d7e5, multA: UInt32 = 0x931e_8875
    static let initB: UInt32 = 0x8b51_f9dd, multB: UInt32 = 0x58f3_8ded
    static let mixL: UInt32 = 0xca01_f9dd, mixR: UInt32 = 0x4973_f715
    public private(set) var pool: [UInt32] = [0, 0, 0, 0]

    public init(_ seed: UInt64) {
        // The integer as little-endian 32-bit words (0 → [0]).
        var entropy: [UInt32] = []
        var s = seed
        repeat { entropy.append(UInt32(truncatingIfNeeded: s)); s >>= 32 } while s > 0
        var hashConst = SeedSequence.initA
        func hashmix(_ v: UInt32) -> UInt32 {
            var value = v ^ hashConst
            hashConst = hashConst &* SeedSequence.multA
            value = value &* hashConst
            return value ^ (value >> 16)
        }
        func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
            let r = SeedSequence.mixL &* x &- SeedSequence.mixR &* y
            return r ^ (r >> 16)
        }
        for i in 0..<4 { pool[i] = hashmix(i < entropy.count ? entropy[i] : 0) }
        for src in 0..<4 { for dst in 0..<4 where src != dst { pool[dst] = mix(pool[dst], hashmix(pool[src])) } }
        if entropy.count > 4 {
            for src in 4..<entropy.count { for dst in 0..<4 { pool[dst] = mix(pool[dst], hashmix(entropy[src])) } }
        }
    }

    /// generate_state(n, uint64): 2n 32-bit words cycled from the pool, paired little-endian.
    public func generateState64(_ n: Int) -> [UInt64] {
        var hashConst = SeedSequence.initB
        var words: [UInt32] = []
        for i in 0..<(2 * n) {
            var v = pool[i % 4] ^ hashConst
            hashConst = hashConst &* SeedSequence.multB
            v = v &* hashConst
            words.append(v ^ (v >> 16))
        }
        return (0..<n).map { UInt64(words[2 * $0]) | (UInt64(words[2 * $0 + 1]) << 32) }
    }
}

/// NumPy's PCG64 bit generator (128-bit LCG state, XSL-RR output), seeded as
/// `PCG64(SeedSequence(seed))` is, with the 32-bit draw buffer `next_uint32` uses.
public struct PCG64: Sendable {
    // 128-bit values as (high, low).
    var stateHi: UInt64 = 0, stateLo: UInt64 = 0
    var incHi: UInt64 = 0, incLo: UInt64 = 0
    var buffered: UInt32? = nil
    static let mulHi: UInt64 = 0x2360_ED05_1FC6_5DA4, mulLo: UInt64 = 0x4385_DF64_9FCC_F645

    public init(seed: UInt64) {
        let v = SeedSequence(seed).generateState64(4)
        // pcg64_set_seed: state = (v0 << 64 | v1), inc = ((v2 << 64 | v3) << 1) | 1.
        incHi = (v[2] << 1) | (v[3] >> 63)
        incLo = (v[3] << 1) | 1
        step()
        let (lo, carry) = stateLo.addingReportingOverflow(v[1])
        stateLo = lo
        stateHi = stateHi &+ v[0] &+ (carry ? 1 : 0)
        step()
    }

    mutating func step() {
        // state = state · mul + inc (mod 2^128)
        let (hiLo, loLo) = stateLo.multipliedFullWidth(by: PCG64.mulLo)
        var hi = hiLo &+ stateLo &* PCG64.mulHi &+ stateHi &* PCG64.mulLo
        let (lo, c) = loLo.addingReportingOverflow(incLo)
        hi = hi &+ incHi &+ (c ? 1 : 0)
        stateHi = hi; stateLo = lo
    }

    public mutating func next64() -> UInt64 {
        step()
        let x = stateHi ^ stateLo
        let rot = stateHi >> 58
        return (x >> rot) | (x << ((64 &- rot) & 63))
    }

    public mutating func next32() -> UInt32 {
        if let b = buffered { buffered = nil; return b }
        let n = next64()
        buffered = UInt32(truncatingIfNeeded: n >> 32)
        return UInt32(truncatingIfNeeded: n)
    }

    /// random_interval(max): uniform on [0, max] by masked rejection.
    public mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        for s in [1, 2, 4, 8, 16, 32] as [UInt64] { mask |= mask >> s }
        if max <= 0xFFFF_FFFF {
            while true { let v = UInt64(next32()) & mask; if v <= max { return v } }
        }
        while true { let v = next64() & mask; if v <= max { return v } }
    }
}

public enum NumpyRandom {
    /// `numpy.random.default_rng(seed).permutation(n)`.
    public static func permutation(_ n: Int, seed: UInt64) -> [Int] {
        var g = PCG64(seed: seed)
        var a = Array(0..<n)
        if n < 2 { return a }
        for i in stride(from: n - 1, through: 1, by: -1) {
            let j = Int(g.interval(UInt64(i)))
            a.swapAt(i, j)
        }
        return a
    }
}
