// Tensor: a row-major fp32 array with a shape. The one storage type of the model code;
// checkpoints convert to it at the file boundary, kernels take raw pointers into it.

public struct Tensor: Sendable, Equatable {
    /// Row-major shape; the last dimension is contiguous.
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "tensor of shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// Rows when the tensor is read as a matrix [rows, lastDim].
    public var rows: Int { shape.count <= 1 ? 1 : shape.dropLast().reduce(1, *) }
    public var cols: Int { shape.last ?? 1 }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Rows `range` of the tensor read as [rows, cols].
    public func rowSlice(_ range: Range<Int>) -> Tensor {
        let c = cols
        var s = shape
        if s.isEmpty { s = [1] }
        s[0] = range.count
        if shape.count > 2 { s = [range.count, c] }
        return Tensor(shape: shape.count > 2 ? [range.count, c] : s,
                      data: Array(data[(range.lowerBound * c)..<(range.upperBound * c)]))
    }

    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }
}

/// Largest absolute elementwise difference of two equally long buffers.
public func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsDiff: \(a.count) vs \(b.count) values")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}
