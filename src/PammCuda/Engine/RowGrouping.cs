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
    // A tile is one block's work (at least two rounds of 256 elements): small enough that b = 16 Ki gives
    // 32 blocks, large enough that the histogram that one block scans stays small. At most MaxTiles tiles,
    // so that scan reads at most 256 × MaxTiles counts; past that the tile length grows with b instead.
    private const int MaxTiles = 2048;
    private const int MinTileSize = 512;

    /// <summary>Bytes of the digit histogram a sort of <paramref name="rows"/> keys uses (256 counts per tile).</summary>
    public static long HistogramBytes(int rows) => 256L * Tiles(rows, TileSize(rows)) * sizeof(uint);

    /// <summary>
    /// Sorts, in the histogram and ping-pong buffers of <paramref name="workspace"/>; returns the addresses of the sorted
    /// keys and of the matching row numbers.
    /// </summary>
    public static (ulong Keys, ulong Rows) Sort(IDeviceStream stream, in ProductWorkspace workspace, ulong assignment, int rows, int k)
    {
        bool compact = CompressedSize.AssignmentBytesPerRow(k) == 2;
        int tileSize = TileSize(rows);
        int tiles = Tiles(rows, tileSize);
        ulong histogram = workspace.Histogram;
        ulong[] keys = [workspace.SortKeys.First, workspace.SortKeys.Second];
        ulong[] rowNumbers = [workspace.SortRows.First, workspace.SortRows.Second];

        int passes = Passes(k);
        for (int pass = 0; pass < passes; pass++)
        {
            bool first = pass == 0;
            ulong keysIn = first ? assignment : keys[(pass + 1) % 2];
            ulong rowsIn = first ? 0UL : rowNumbers[(pass + 1) % 2];
            bool compactKeys = first && compact;
            int shift = 8 * pass;
            int digits = Digits(k, shift);
            PammKernels.RadixHistogram(stream, compactKeys, keysIn, rows, tileSize, tiles, shift, digits, histogram);
            PammKernels.RadixScan(stream, histogram, (long)digits * tiles);
            PammKernels.RadixScatter(stream, compactKeys, keysIn, rowsIn, rows, tileSize, tiles, shift, digits, histogram,
                keys[pass % 2], rowNumbers[pass % 2]);
        }
        int last = (passes - 1) % 2;
        return (keys[last], rowNumbers[last]);
    }

    private static int TileSize(int rows) => Math.Max(MinTileSize, (int)((rows + (long)MaxTiles - 1) / MaxTiles));

    private static int Tiles(int rows, int tileSize) => (int)((rows + (long)tileSize - 1) / tileSize);

    /// <summary>Digit values that keys below k can have at <paramref name="shift"/>: all 256 except in the top pass.</summary>
    internal static int Digits(int k, int shift) => Math.Min(256, (Math.Max(k - 1, 0) >> shift) + 1);

    /// <summary>8-bit digits needed for generator numbers up to k − 1 (at least one pass).</summary>
    internal static int Passes(int k)
    {
        int bits = 32 - int.LeadingZeroCount(Math.Max(k - 1, 0));
        return Math.Max(1, (bits + 7) / 8);
    }
}
