// The reference's wrong behaviours behind switches (reference-quirks.md: the F entries), and
// the emulation of its fp16/bf16 score arithmetic (reference-algorithms.md §8.2 point 8).
import Checkpoints
import Tensors
import Transformer

/// Rounding to the checkpoint's storage dtype after each operation the reference performs
/// in that dtype. `.none` is plain fp32 (the default).
public enum DTypeRounding: String, Sendable, CaseIterable {
    case none, f16, bf16

    @inline(__always)
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .f16: return f16ToF32(f32ToF16(x))
        case .bf16: return bf16ToF32(f32ToBF16(x))
        }
    }

    /// The dtype the reference would compute in for this model (its checkpoint dtype).
    public static func storage(of model: Model) -> DTypeRounding {
        switch model.config.dtype.lowercased() {
        case "float16", "f16", "half", "torch.float16": return .f16
        case "bfloat16", "bf16", "torch.bfloat16": return .bf16
        default: return .none
        }
    }
}

/// Which of the reference's behaviours to reproduce. `.correct` fixes them all;
/// `.reference(for:)` reproduces them all (the `--reference-parity` switch); the fields can
/// also be set one by one.
public struct ReferenceBehaviour: Sendable, Equatable {
    /// Q2: query heads kept by tiling the K/V row mask instead of by GQA group.
    public var tiledQueryHeads = false
    /// Q1/Q19/Q15: fp16/bf16 rounding of the scores.
    public var scoreRounding: DTypeRounding = .none
    /// Q23: +inf written as the bare token `Infinity` (otherwise as the string "Infinity").
    public var bareInfinity = false
    /// Q14: taylor/magnitude output files are named `…+` even without --heuristic
    /// (otherwise the `+` marks --heuristic only).
    public var plusSuffix = false

    public init(tiledQueryHeads: Bool = false, scoreRounding: DTypeRounding = .none, bareInfinity: Bool = false, plusSuffix: Bool = false) {
        self.tiledQueryHeads = tiledQueryHeads; self.scoreRounding = scoreRounding
        self.bareInfinity = bareInfinity; self.plusSuffix = plusSuffix
    }

    public static let correct = ReferenceBehaviour()

    public static func reference(for model: Model) -> ReferenceBehaviour {
        ReferenceBehaviour(tiledQueryHeads: true, scoreRounding: .storage(of: model), bareInfinity: true, plusSuffix: true)
    }
}
