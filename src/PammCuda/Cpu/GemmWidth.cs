using System.Runtime.Intrinsics;

namespace PammCuda.Cpu;

/// <summary>
/// The vector width a <see cref="MicroKernel"/> runs at. Every width computes the same chains of multiply-adds, so the
/// choice changes speed only, never a bit of the result; tests run every width the machine accelerates.
/// </summary>
internal enum GemmWidth
{
    /// <summary>Plain float arithmetic, for hardware without SIMD.</summary>
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

    /// <summary>Rows of A (of the output) per micro-kernel call: the register tile's height, <see cref="IVectorWidth{TVector}.Rows"/>.</summary>
    public static int Rows(GemmWidth width) => width switch
    {
        GemmWidth.Vector512 => Width512.Rows,
        GemmWidth.Vector256 => Width256.Rows,
        GemmWidth.Vector128 => Width128.Rows,
        _ => WidthScalar.Rows,
    };

    /// <summary>Rows of B (columns of the output) per micro-kernel call: two vectors, so that every broadcast of A feeds two multiply-adds.</summary>
    public static int Columns(GemmWidth width) => width switch
    {
        GemmWidth.Vector512 => RegisterTile<Vector512<float>, Width512>.Columns,
        GemmWidth.Vector256 => RegisterTile<Vector256<float>, Width256>.Columns,
        GemmWidth.Vector128 => RegisterTile<Vector128<float>, Width128>.Columns,
        _ => RegisterTile<float, WidthScalar>.Columns,
    };
}
