namespace PammCuda.Devices;

/// <summary>Whether a GEMM operand is used as stored or transposed (column-major, as in BLAS).</summary>
public enum GemmOperation
{
    /// <summary>As stored.</summary>
    None,

    /// <summary>Transposed.</summary>
    Transpose,
}

/// <summary>
/// <c>C = α·op(A)·op(B) + β·C</c> with column-major operands, exactly as <c>cublasGemmEx</c> defines it:
/// op(A) is M × K, op(B) is K × N, C is M × N. α and β are float32 values in device memory
/// (pointer mode device), so a scale computed by a kernel needs no round trip to the host.
/// Accumulation is float32. Supported type combinations: A, B and C all float32; or A and B both
/// float16 (or both bfloat16) with C of the same type or float32.
/// </summary>
public readonly record struct GemmDescriptor(
    GemmOperation OperationA,
    GemmOperation OperationB,
    int M,
    int N,
    int K,
    ulong Alpha,
    ulong A,
    DType TypeA,
    int LeadingDimensionA,
    ulong B,
    DType TypeB,
    int LeadingDimensionB,
    ulong Beta,
    ulong C,
    DType TypeC,
    int LeadingDimensionC,
    bool AllowTf32 = false);
