namespace PammCuda.Cpu;

/// <summary>
/// How a <see cref="MicroKernel"/> step rounds <c>c + x·y</c>: the one thing the two products' kernels do differently,
/// each to keep the rounding its results have always had. A type, not a flag, so that the JIT compiles each kernel
/// with one operation and no branch in its loop.
/// </summary>
internal interface IMultiplyAdd
{
    /// <summary>Whether the product and the sum are rounded once together.</summary>
    static abstract bool IsFused { get; }
}

/// <summary><c>fma(x, y, c)</c>, rounded once: the chains of <see cref="CpuGemmNT"/>.</summary>
internal readonly struct FusedMultiplyAdd : IMultiplyAdd
{
    public static bool IsFused => true;
}

/// <summary><c>c + x·y</c>, a multiply and an add each rounded: the sums of <see cref="CpuTransposedProduct"/>.</summary>
internal readonly struct SeparateMultiplyAdd : IMultiplyAdd
{
    public static bool IsFused => false;
}
