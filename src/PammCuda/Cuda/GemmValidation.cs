using PammCuda.Devices;

namespace PammCuda.Cuda;

/// <summary>Checks a <see cref="GemmDescriptor"/> before it reaches cuBLAS, so bad input names its field instead of failing as CUBLAS_STATUS_INVALID_VALUE.</summary>
internal static class GemmValidation
{
    /// <summary>Throws <see cref="ArgumentException"/> (parameter <paramref name="argument"/>) for a descriptor cuBLAS would reject or misread.</summary>
    public static void Validate(in GemmDescriptor gemm, string argument)
    {
        if (gemm.M < 0 || gemm.N < 0 || gemm.K < 0)
            throw new ArgumentException($"GEMM sizes must not be negative (M={gemm.M}, N={gemm.N}, K={gemm.K}).", argument);
        CheckLeadingDimension(gemm.LeadingDimensionA, gemm.OperationA == GemmOperation.None ? gemm.M : gemm.K, "LeadingDimensionA", argument);
        CheckLeadingDimension(gemm.LeadingDimensionB, gemm.OperationB == GemmOperation.None ? gemm.K : gemm.N, "LeadingDimensionB", argument);
        CheckLeadingDimension(gemm.LeadingDimensionC, gemm.M, "LeadingDimensionC", argument);
        if (gemm.TypeA != gemm.TypeB || (gemm.TypeC != gemm.TypeA && gemm.TypeC != DType.Float32))
            throw new ArgumentException($"GEMM types A={gemm.TypeA}, B={gemm.TypeB}, C={gemm.TypeC}: A and B must match and C must match them or be Float32.", argument);
        if (gemm.Alpha == 0 || gemm.Beta == 0)
            throw new ArgumentException("Alpha and Beta must be device addresses of float32 values (pointer mode device).", argument);
        if (gemm.M > 0 && gemm.N > 0 && (gemm.C == 0 || (gemm.K > 0 && (gemm.A == 0 || gemm.B == 0))))
            throw new ArgumentException("A, B and C must be device addresses (A and B may be 0 only when K is 0).", argument);
    }

    private static void CheckLeadingDimension(int value, int rows, string field, string argument)
    {
        if (value < Math.Max(1, rows))
            throw new ArgumentException($"{field} = {value} must be at least {Math.Max(1, rows)}.", argument);
    }
}
