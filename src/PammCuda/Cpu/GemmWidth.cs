using System.Runtime.Intrinsics;

namespace PammCuda.Cpu;

/// <summary>
/// The vector width a <see cref="CpuGemmNT"/> micro-kernel runs at. Every width computes the same fused multiply-add
/// chains, so the choice changes speed only, never a bit of the result; tests run every width the machine accelerates.
/// </summary>
internal enum GemmWidth
{
    /// <summary>Plain float arithmetic (<see cref="MathF.FusedMultiplyAdd"/>), for hardware without SIMD.</summary>
    Scalar,

    /// <summary><see cref="Vector128{T}"/>: SSE or NEON.</summary>
    Vector128,

    /// <summary><see cref="Vector256{T}"/>: AVX2 with FMA.</summary>
    Vector256,

    /// <summary><see cref="Vector512{T}"/>: AVX-512.</summary>
    Vector512,
}

/// <summary>The register tile of each width's micro-kernel.</summary>
internal static class GemmWidths
{
    /// <summary>The widest width this machine accelerates: what the library uses.</summary>
    public static GemmWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? GemmWidth.Vector512
        : Vector256.IsHardwareAccelerated ? GemmWidth.Vector256
        : Vector128.IsHardwareAccelerated ? GemmWidth.Vector128
        : GemmWidth.Scalar;

    /// <summary>Whether this machine runs <paramref name="width"/> in hardware (tests run only those).</summary>
    public static bool IsAccelerated(GemmWidth width) => width switch
    {
        GemmWidth.Vector512 => Vector512.IsHardwareAccelerated,
        GemmWidth.Vector256 => Vector256.IsHardwareAccelerated,
        GemmWidth.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>
    /// Rows of A per micro-kernel call. The tile's accumulators must stay in registers: 8 × 2 = 16 of AVX-512's 32,
    /// 6 × 2 = 12 of AVX2's 16 (two more for B, one for the broadcast), 4 × 2 = 8 for 128-bit vectors.
    /// </summary>
    public static int Rows(GemmWidth width) => width switch
    {
        GemmWidth.Vector512 => 8,
        GemmWidth.Vector256 => 6,
        GemmWidth.Vector128 => 4,
        _ => 2,
    };

    /// <summary>Rows of B (columns of S) per micro-kernel call: two vectors, so that every broadcast of A feeds two FMAs.</summary>
    public static int Columns(GemmWidth width) => width switch
    {
        GemmWidth.Vector512 => 32,
        GemmWidth.Vector256 => 16,
        GemmWidth.Vector128 => 8,
        _ => 4,
    };
}
