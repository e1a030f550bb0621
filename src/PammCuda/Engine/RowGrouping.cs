using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Groups the rows of a compressed activation by generator with a stable LSD radix sort on f
/// (8 bits per pass; see <c>kernels/pamm_radix_sort.cu</c>), leaving the sorted keys and the row
/// numbers in scratch. Stability keeps each group in ascending row order, which is what makes the
/// segmented reduction deterministic.
/// </summary>
internal static class RowGrouping
{
    // Bounds the histogram (256 counts per tile) that one block scans; the tile length grows with b instead.
    private const int MaxTiles = 2048;
    private const int MinTileSize = 32;

    /// <summary>Sorts; returns the addresses of the sorted keys and of the matching row numbers.</summary>
    public static (ulong Keys, ulong Rows) Sort(IDeviceStream stream, EngineScratch scratch, ulong assignment, int rows, int k)
    {
        bool compact = CompressedSize.AssignmentBytesPerRow(k) == 2;
        int tileSize = Math.Max(MinTileSize, (int)((rows + (long)MaxTiles - 1) / MaxTiles));
        int tiles = (int)((rows + (long)tileSize - 1) / tileSize);
        long histogramCount = 256L * tiles;
        ulong histogram = scratch.Histogram.Ensure(histogramCount * sizeof(uint));
        long indexBytes = (long)rows * sizeof(int);
        ulong[] keys = [scratch.SortKeys[0].Ensure(indexBytes), scratch.SortKeys[1].Ensure(indexBytes)];
        ulong[] rowNumbers = [scratch.SortRows[0].Ensure(indexBytes), scratch.SortRows[1].Ensure(indexBytes)];

        int passes = Passes(k);
        for (int pass = 0; pass < passes; pass++)
        {
            bool first = pass == 0;
            ulong keysIn = first ? assignment : keys[(pass + 1) % 2];
            ulong rowsIn = first ? 0UL : rowNumbers[(pass + 1) % 2];
            bool compactKeys = first && compact;
            int shift = 8 * pass;
            PammKernels.RadixHistogram(stream, compactKeys, keysIn, rows, tileSize, tiles, shift, histogram);
            PammKernels.RadixScan(stream, histogram, histogramCount);
            PammKernels.RadixScatter(stream, compactKeys, keysIn, rowsIn, rows, tileSize, tiles, shift, histogram,
                keys[pass % 2], rowNumbers[pass % 2]);
        }
        int last = (passes - 1) % 2;
        return (keys[last], rowNumbers[last]);
    }

    /// <summary>8-bit digits needed for generator numbers up to k − 1 (at least one pass).</summary>
    internal static int Passes(int k)
    {
        int bits = 32 - int.LeadingZeroCount(Math.Max(k - 1, 0));
        return Math.Max(1, (bits + 7) / 8);
    }
}
