using System.Runtime.CompilerServices;

namespace PammCuda.Cpu;

/// <summary>
/// The register tile of a <see cref="MicroKernel"/>: the accumulators of a tile of C, <c>TWidth.Rows</c> rows × 2
/// vectors, held in registers over a reduction slice, and where the tile's rows of A are. Each step broadcasts one
/// element of A per row and multiplies it into two vectors of B, so one broadcast feeds two multiply-adds and one load
/// of B feeds 2 × Rows. Lane l of an accumulator holds one element of C for the whole slice, so that element's rounding
/// is the scalar chain's at every width.
/// </summary>
/// <remarks>
/// The accumulators are named fields, not an array: the JIT keeps each field of a local struct in a register, never an
/// indexed element. It knows <c>TWidth.Rows</c> as a constant in each specialisation, so the rows past it are dropped
/// and take no register. Every member is inlined into the kernel's loop.
/// </remarks>
internal unsafe struct RegisterTile<TVector, TWidth>
    where TVector : unmanaged
    where TWidth : struct, IVectorWidth<TVector>
{
    /// <summary>Columns of the tile: two vectors.</summary>
    public static int Columns => 2 * Count;

    private static int Count => sizeof(TVector) / sizeof(float);

    private TVector _c00, _c01, _c10, _c11, _c20, _c21, _c30, _c31, _c40, _c41, _c50, _c51, _c60, _c61, _c70, _c71;

    // Where rows 1 to 7 of A are from row 0, computed here once: the JIT does not hoist address arithmetic this cheap
    // out of the loop, and would compute them again at every step.
    private readonly nint _a1, _a2, _a3, _a4, _a5, _a6, _a7;

    /// <summary>
    /// A tile over rows of A <paramref name="rowStride"/> floats apart, starting from the tile of C at <paramref name="c"/>
    /// (rows <paramref name="ldc"/> apart) to continue its chains, or from zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RegisterTile(nint rowStride, float* c, nint ldc, bool accumulate)
    {
        _a1 = rowStride; _a2 = 2 * rowStride; _a3 = 3 * rowStride; _a4 = 4 * rowStride;
        _a5 = 5 * rowStride; _a6 = 6 * rowStride; _a7 = 7 * rowStride;
        if (!accumulate) return;
        _c00 = Load(c); _c01 = Load(c + Count);
        _c10 = Load(c + ldc); _c11 = Load(c + ldc + Count);
        if (TWidth.Rows > 2)
        {
            _c20 = Load(c + 2 * ldc); _c21 = Load(c + 2 * ldc + Count);
            _c30 = Load(c + 3 * ldc); _c31 = Load(c + 3 * ldc + Count);
        }
        if (TWidth.Rows > 4)
        {
            _c40 = Load(c + 4 * ldc); _c41 = Load(c + 4 * ldc + Count);
            _c50 = Load(c + 5 * ldc); _c51 = Load(c + 5 * ldc + Count);
        }
        if (TWidth.Rows > 6)
        {
            _c60 = Load(c + 6 * ldc); _c61 = Load(c + 6 * ldc + Count);
            _c70 = Load(c + 7 * ldc); _c71 = Load(c + 7 * ldc + Count);
        }
    }

    /// <summary>
    /// One step of every chain: row r += (row r's element of A, at <paramref name="a"/> + r·rowStride) × (the two vectors
    /// at <paramref name="b"/>), each multiply-add rounded as <typeparamref name="TMultiplyAdd"/> says.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<TMultiplyAdd>(float* a, float* b) where TMultiplyAdd : struct, IMultiplyAdd
    {
        TVector b0 = Load(b), b1 = Load(b + Count), x;
        x = TWidth.Broadcast(a[0]); _c00 = MultiplyAdd<TMultiplyAdd>(x, b0, _c00); _c01 = MultiplyAdd<TMultiplyAdd>(x, b1, _c01);
        x = TWidth.Broadcast(a[_a1]); _c10 = MultiplyAdd<TMultiplyAdd>(x, b0, _c10); _c11 = MultiplyAdd<TMultiplyAdd>(x, b1, _c11);
        if (TWidth.Rows > 2)
        {
            x = TWidth.Broadcast(a[_a2]); _c20 = MultiplyAdd<TMultiplyAdd>(x, b0, _c20); _c21 = MultiplyAdd<TMultiplyAdd>(x, b1, _c21);
            x = TWidth.Broadcast(a[_a3]); _c30 = MultiplyAdd<TMultiplyAdd>(x, b0, _c30); _c31 = MultiplyAdd<TMultiplyAdd>(x, b1, _c31);
        }
        if (TWidth.Rows > 4)
        {
            x = TWidth.Broadcast(a[_a4]); _c40 = MultiplyAdd<TMultiplyAdd>(x, b0, _c40); _c41 = MultiplyAdd<TMultiplyAdd>(x, b1, _c41);
            x = TWidth.Broadcast(a[_a5]); _c50 = MultiplyAdd<TMultiplyAdd>(x, b0, _c50); _c51 = MultiplyAdd<TMultiplyAdd>(x, b1, _c51);
        }
        if (TWidth.Rows > 6)
        {
            x = TWidth.Broadcast(a[_a6]); _c60 = MultiplyAdd<TMultiplyAdd>(x, b0, _c60); _c61 = MultiplyAdd<TMultiplyAdd>(x, b1, _c61);
            x = TWidth.Broadcast(a[_a7]); _c70 = MultiplyAdd<TMultiplyAdd>(x, b0, _c70); _c71 = MultiplyAdd<TMultiplyAdd>(x, b1, _c71);
        }
    }

    /// <summary>Writes the tile to C at <paramref name="c"/>, rows <paramref name="ldc"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Store(float* c, nint ldc)
    {
        StoreRow(c, _c00, _c01);
        StoreRow(c + ldc, _c10, _c11);
        if (TWidth.Rows > 2) { StoreRow(c + 2 * ldc, _c20, _c21); StoreRow(c + 3 * ldc, _c30, _c31); }
        if (TWidth.Rows > 4) { StoreRow(c + 4 * ldc, _c40, _c41); StoreRow(c + 5 * ldc, _c50, _c51); }
        if (TWidth.Rows > 6) { StoreRow(c + 6 * ldc, _c60, _c61); StoreRow(c + 7 * ldc, _c70, _c71); }
    }

    // Unaligned, as every row of C and B may be: the JIT emits the same plain vector load and store as VectorN.Load and Store.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector Load(float* source) => *(TVector*)source;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, TVector left, TVector right)
    {
        *(TVector*)row = left;
        *(TVector*)(row + Count) = right;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector MultiplyAdd<TMultiplyAdd>(TVector x, TVector y, TVector addend) where TMultiplyAdd : struct, IMultiplyAdd =>
        TMultiplyAdd.IsFused ? TWidth.FusedMultiplyAdd(x, y, addend) : TWidth.MultiplyThenAdd(x, y, addend);
}
