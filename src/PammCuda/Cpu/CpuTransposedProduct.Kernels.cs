using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PammCuda.Cpu;

/// <summary>
/// The micro-kernels of <see cref="CpuTransposedProduct"/>, one per vector width, with the tiles of
/// <see cref="CpuGemmNT"/>'s: R output rows × 2 vectors of output columns held in registers over a reduction slice.
/// Step i broadcasts R consecutive elements of row i of A and loads two vectors of row i of B. Each step is a multiply
/// and a separate add (<c>c += x * b</c>, never contracted to a fused multiply-add by the JIT), the rounding of the
/// reference this product has always been, so that one element's sum is the same at every width.
/// </summary>
internal static unsafe partial class CpuTransposedProduct
{
    /// <summary>
    /// c (R × 2 vectors, stride ldc) = Σ_i a[i]ᵀ b[i] + (accumulate ? c : 0) over <c>steps</c> reduction rows, a and b
    /// advancing by lda and ldb a step: the micro-kernel of <paramref name="width"/>.
    /// </summary>
    // The kernels are compiled optimized at once: a compression calls each only a few hundred times, too few for tiered
    // compilation to promote it before the call is over, and its first calls would run unoptimized.
    private static delegate*<float*, nint, float*, nint, int, float*, nint, bool, void> Kernel(GemmWidth width) => width switch
    {
        GemmWidth.Vector512 => &Kernel512,
        GemmWidth.Vector256 => &Kernel256,
        GemmWidth.Vector128 => &Kernel128,
        _ => &KernelScalar,
    };

    // 8 rows × 32 columns: 16 zmm accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(float* a, nint lda, float* b, nint ldb, int steps, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + ldc); c11 = Vector512.Load(c + ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 16);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + 16);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = Vector512<float>.Zero;
        }
        for (int i = 0; i < steps; i++, a += lda, b += ldb)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16), x;
            x = Vector512.Create(a[0]); c00 += x * b0; c01 += x * b1;
            x = Vector512.Create(a[1]); c10 += x * b0; c11 += x * b1;
            x = Vector512.Create(a[2]); c20 += x * b0; c21 += x * b1;
            x = Vector512.Create(a[3]); c30 += x * b0; c31 += x * b1;
            x = Vector512.Create(a[4]); c40 += x * b0; c41 += x * b1;
            x = Vector512.Create(a[5]); c50 += x * b0; c51 += x * b1;
            x = Vector512.Create(a[6]); c60 += x * b0; c61 += x * b1;
            x = Vector512.Create(a[7]); c70 += x * b0; c71 += x * b1;
        }
        c00.Store(c); c01.Store(c + 16);
        c10.Store(c + ldc); c11.Store(c + ldc + 16);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 16);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 16);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 16);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 16);
        c60.Store(c + 6 * ldc); c61.Store(c + 6 * ldc + 16);
        c70.Store(c + 7 * ldc); c71.Store(c + 7 * ldc + 16);
    }

    // 6 rows × 16 columns: 12 ymm accumulators, leaving AVX2's other 4 registers for B and the broadcast.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256(float* a, nint lda, float* b, nint ldb, int steps, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ldc); c11 = Vector256.Load(c + ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc); c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc); c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }
        for (int i = 0; i < steps; i++, a += lda, b += ldb)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), x;
            x = Vector256.Create(a[0]); c00 += x * b0; c01 += x * b1;
            x = Vector256.Create(a[1]); c10 += x * b0; c11 += x * b1;
            x = Vector256.Create(a[2]); c20 += x * b0; c21 += x * b1;
            x = Vector256.Create(a[3]); c30 += x * b0; c31 += x * b1;
            x = Vector256.Create(a[4]); c40 += x * b0; c41 += x * b1;
            x = Vector256.Create(a[5]); c50 += x * b0; c51 += x * b1;
        }
        c00.Store(c); c01.Store(c + 8);
        c10.Store(c + ldc); c11.Store(c + ldc + 8);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 8);
        c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 8);
        c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 8);
    }

    // 4 rows × 8 columns: 8 xmm accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel128(float* a, nint lda, float* b, nint ldb, int steps, float* c, nint ldc, bool accumulate)
    {
        Vector128<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Vector128.Load(c); c01 = Vector128.Load(c + 4);
            c10 = Vector128.Load(c + ldc); c11 = Vector128.Load(c + ldc + 4);
            c20 = Vector128.Load(c + 2 * ldc); c21 = Vector128.Load(c + 2 * ldc + 4);
            c30 = Vector128.Load(c + 3 * ldc); c31 = Vector128.Load(c + 3 * ldc + 4);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector128<float>.Zero;
        }
        for (int i = 0; i < steps; i++, a += lda, b += ldb)
        {
            Vector128<float> b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4), x;
            x = Vector128.Create(a[0]); c00 += x * b0; c01 += x * b1;
            x = Vector128.Create(a[1]); c10 += x * b0; c11 += x * b1;
            x = Vector128.Create(a[2]); c20 += x * b0; c21 += x * b1;
            x = Vector128.Create(a[3]); c30 += x * b0; c31 += x * b1;
        }
        c00.Store(c); c01.Store(c + 4);
        c10.Store(c + ldc); c11.Store(c + ldc + 4);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 4);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 4);
    }

    // 2 rows × 4 columns of plain floats: the same sums, one element at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelScalar(float* a, nint lda, float* b, nint ldb, int steps, float* c, nint ldc, bool accumulate)
    {
        for (int r = 0; r < 2; r++)
        {
            float* row = c + r * ldc;
            for (int column = 0; column < 4; column++)
            {
                float sum = accumulate ? row[column] : 0f;
                for (int i = 0; i < steps; i++) sum += a[i * lda + r] * b[i * ldb + column];
                row[column] = sum;
            }
        }
    }
}
