namespace PammCuda.Bench.Harness;

/// <summary>
/// Marks a benchmark method with the <see cref="Harness.Operation"/> it times, so that the custom columns
/// know the bytes it moves and find the exact GEMM and the copy of the same shape and dtype in the summary.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class MeasuresAttribute : Attribute
{
    /// <summary>A method whose element type is the benchmark class's <c>DType</c> parameter.</summary>
    public MeasuresAttribute(Operation operation) => Operation = operation;

    /// <summary>A method whose element type is fixed (a baseline class has no <c>DType</c> parameter).</summary>
    public MeasuresAttribute(Operation operation, DType fixedDType)
    {
        Operation = operation;
        FixedDType = fixedDType;
    }

    /// <summary>The operation timed.</summary>
    public Operation Operation { get; }

    /// <summary>The element type when the method fixes it.</summary>
    public DType? FixedDType { get; }

    /// <summary>
    /// True for the measurement others are compared with: the exact GEMM of its dtype that the speedup column
    /// divides by (strict fp32, not TF32, for float32), or the copy whose bandwidth is 100 %.
    /// </summary>
    public bool IsReference { get; set; }
}
