using PammCuda.Devices;

namespace PammCuda.Cpu;

/// <summary>
/// <c>C = α·op(A)·op(B) + β·C</c> on the CPU with column-major operands and cuBLAS's semantics
/// (see <see cref="GemmDescriptor"/>): the emulated device's cuBLAS. (The CPU backend's own products use the blocked
/// <see cref="CpuGemmNT"/> and <see cref="CpuTransposedProduct"/>.)
/// Accumulates in float32 in a fixed order, so results do not depend on the thread count.
/// When β = 0, C is not read (NaN in uninitialised C does not leak), as in BLAS.
/// </summary>
internal static unsafe class CpuGemm
{
    /// <summary>Runs the GEMM over raw host memory.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative sizes or leading dimensions too small for the operands.</exception>
    /// <exception cref="NotSupportedException">A type combination cuBLAS does not offer either.</exception>
    public static void Gemm(
        GemmOperation operationA, GemmOperation operationB, int m, int n, int k, float alpha,
        void* a, DType typeA, int lda, void* b, DType typeB, int ldb, float beta,
        void* c, DType typeC, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckLeadingDimension(lda, operationA == GemmOperation.None ? m : k, nameof(lda));
        CheckLeadingDimension(ldb, operationB == GemmOperation.None ? k : n, nameof(ldb));
        CheckLeadingDimension(ldc, m, nameof(ldc));
        if (typeA != typeB || (typeC != typeA && typeC != DType.Float32))
            throw new NotSupportedException($"GEMM types A={typeA}, B={typeB}, C={typeC}: A and B must match and C must match them or be float32.");
        if (m == 0 || n == 0) return;

        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Parallel.For(0, n, column =>
        {
            var bColumn = new float[k];
            for (int p = 0; p < k; p++)
            {
                long index = operationB == GemmOperation.None ? (long)column * ldb + p : (long)p * ldb + column;
                bColumn[p] = Load((void*)pb, typeB, index);
            }
            for (int row = 0; row < m; row++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    long index = operationA == GemmOperation.None ? (long)p * lda + row : (long)row * lda + p;
                    sum += Load((void*)pa, typeA, index) * bColumn[p];
                }
                long target = (long)column * ldc + row;
                float result = beta == 0f ? alpha * sum : alpha * sum + beta * Load((void*)pc, typeC, target);
                Store((void*)pc, typeC, target, result);
            }
        });
    }

    private static void CheckLeadingDimension(int ld, int rows, string name)
    {
        if (ld < Math.Max(1, rows))
            throw new ArgumentOutOfRangeException(name, ld, $"Leading dimension must be at least {Math.Max(1, rows)}.");
    }

    private static float Load(void* p, DType type, long index) => type switch
    {
        DType.Float32 => ((float*)p)[index],
        DType.Float16 => (float)((Half*)p)[index],
        _ => (float)((BFloat16*)p)[index],
    };

    private static void Store(void* p, DType type, long index, float value)
    {
        switch (type)
        {
            case DType.Float32: ((float*)p)[index] = value; break;
            case DType.Float16: ((Half*)p)[index] = (Half)value; break;
            default: ((BFloat16*)p)[index] = (BFloat16)value; break;
        }
    }
}
