using System.Runtime.CompilerServices;

namespace PammCuda.Sampling;

/// <summary>
/// Philox4x32-10 (Salmon et al., SC'11), the counter-based generator both backends use, so that a
/// seed picks the same rows on the CPU and on the GPU (<c>kernels/pamm_common.cuh</c> holds the same function).
/// </summary>
internal static class Philox4x32
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The four output words for a 128-bit counter and a 64-bit key, after 10 rounds.</summary>
    public static (uint X0, uint X1, uint X2, uint X3) Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0) { k0 += W0; k1 += W1; }
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>The 64-bit sampling key of row <paramref name="row"/>: counter (row, 0, 0, 0), key = seed, key = (x0 ≪ 32) | x1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RowKey(ulong seed, long row)
    {
        var (x0, x1, _, _) = Generate((uint)row, (uint)((ulong)row >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));
        return ((ulong)x0 << 32) | x1;
    }
}
