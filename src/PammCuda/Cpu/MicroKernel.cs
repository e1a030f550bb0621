using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PammCuda.Cpu;

/// <summary>
/// The micro-kernel of <see cref="CpuGemmNT"/> and <see cref="CpuTransposedProduct"/>, one per vector width and rounding:
/// a <see cref="RegisterTile{TVector, TWidth}"/> of C that takes one step per reduction index. Both products pack B into
/// panels, step i's two vectors at <c>b + i·Columns</c>; A has two strides because CpuGemmNT reads it in place (rows lda
/// apart, a step one float along them) and CpuTransposedProduct from a packed panel (a step's Rows floats side by side).
/// </summary>
internal static unsafe class MicroKernel
{
    /// <summary>
    /// The kernel of <paramref name="width"/>: <c>c (Rows × Columns, rows ldc apart) = Σ_i A_i ⊗ B_i + (accumulate ? c : 0)</c>
    /// over <c>steps</c> indices i in ascending order, each multiply-add rounded as <typeparamref name="TMultiplyAdd"/> says.
    /// Step i's column of A is the Rows floats <c>rowStride</c> apart from <c>a + i·stepStride</c>; its row of B the
    /// Columns floats at <c>b + i·Columns</c>.
    /// </summary>
    // Arguments: a, rowStride, stepStride, b, steps, c, ldc, accumulate.
    public static delegate*<float*, nint, nint, float*, int, float*, nint, bool, void> For<TMultiplyAdd>(GemmWidth width)
        where TMultiplyAdd : struct, IMultiplyAdd => width switch
    {
        GemmWidth.Vector512 => &Run<Vector512<float>, Width512, TMultiplyAdd>,
        GemmWidth.Vector256 => &Run<Vector256<float>, Width256, TMultiplyAdd>,
        GemmWidth.Vector128 => &Run<Vector128<float>, Width128, TMultiplyAdd>,
        _ => &Run<float, WidthScalar, TMultiplyAdd>,
    };

    // Compiled optimized at once: a compression calls each kernel only a few hundred times, too few for tiered
    // compilation to promote it before the call is over, and its first calls would run unoptimized.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TVector, TWidth, TMultiplyAdd>(
        float* a, nint rowStride, nint stepStride, float* b, int steps, float* c, nint ldc, bool accumulate)
        where TVector : unmanaged where TWidth : struct, IVectorWidth<TVector> where TMultiplyAdd : struct, IMultiplyAdd
    {
        var tile = new RegisterTile<TVector, TWidth>(rowStride, c, ldc, accumulate);
        for (int i = 0; i < steps; i++, a += stepStride, b += RegisterTile<TVector, TWidth>.Columns)
            tile.Step<TMultiplyAdd>(a, b);
        tile.Store(c, ldc);
    }
}
