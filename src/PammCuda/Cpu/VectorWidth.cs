using System.Runtime.Intrinsics;

namespace PammCuda.Cpu;

/// <summary>
/// What <see cref="RegisterTile{TVector, TWidth}"/> needs of one vector type that plain memory access cannot give it:
/// .NET's own interface over Vector128, Vector256 and Vector512 (ISimdVector) is internal, so each width names these
/// operations once here, and one tile serves every width, specialised by the JIT for each.
/// </summary>
internal interface IVectorWidth<TVector> where TVector : unmanaged
{
    /// <summary>Rows of the tile (2, 4, 6 or 8): its 2 × Rows accumulators stay in registers beside two vectors of B and a broadcast.</summary>
    static abstract int Rows { get; }

    /// <summary>Every lane set to <paramref name="value"/>.</summary>
    static abstract TVector Broadcast(float value);

    /// <summary><c>x·y + addend</c>, rounded once.</summary>
    static abstract TVector FusedMultiplyAdd(TVector x, TVector y, TVector addend);

    /// <summary><c>addend + x·y</c>, the product and the sum each rounded.</summary>
    static abstract TVector MultiplyThenAdd(TVector x, TVector y, TVector addend);
}

/// <summary><see cref="GemmWidth.Vector512"/>: 8 × 2 accumulators, 16 of AVX-512's 32 registers.</summary>
internal readonly struct Width512 : IVectorWidth<Vector512<float>>
{
    public static int Rows => 8;
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    public static Vector512<float> FusedMultiplyAdd(Vector512<float> x, Vector512<float> y, Vector512<float> addend) => Vector512.FusedMultiplyAdd(x, y, addend);
    public static Vector512<float> MultiplyThenAdd(Vector512<float> x, Vector512<float> y, Vector512<float> addend) => addend + x * y;
}

/// <summary><see cref="GemmWidth.Vector256"/>: 6 × 2 accumulators, leaving AVX2's other 4 registers for B and the broadcast.</summary>
internal readonly struct Width256 : IVectorWidth<Vector256<float>>
{
    public static int Rows => 6;
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    public static Vector256<float> FusedMultiplyAdd(Vector256<float> x, Vector256<float> y, Vector256<float> addend) => Vector256.FusedMultiplyAdd(x, y, addend);
    public static Vector256<float> MultiplyThenAdd(Vector256<float> x, Vector256<float> y, Vector256<float> addend) => addend + x * y;
}

/// <summary><see cref="GemmWidth.Vector128"/>: 4 × 2 accumulators, within SSE's 16 registers and NEON's 32.</summary>
internal readonly struct Width128 : IVectorWidth<Vector128<float>>
{
    public static int Rows => 4;
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    public static Vector128<float> FusedMultiplyAdd(Vector128<float> x, Vector128<float> y, Vector128<float> addend) => Vector128.FusedMultiplyAdd(x, y, addend);
    public static Vector128<float> MultiplyThenAdd(Vector128<float> x, Vector128<float> y, Vector128<float> addend) => addend + x * y;
}

/// <summary><see cref="GemmWidth.Scalar"/>: plain floats, 2 × 2 of them, for hardware without SIMD.</summary>
internal readonly struct WidthScalar : IVectorWidth<float>
{
    public static int Rows => 2;
    public static float Broadcast(float value) => value;
    public static float FusedMultiplyAdd(float x, float y, float addend) => MathF.FusedMultiplyAdd(x, y, addend);
    public static float MultiplyThenAdd(float x, float y, float addend) => addend + x * y;
}
