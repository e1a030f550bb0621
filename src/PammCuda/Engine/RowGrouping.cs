using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// Groups the rows of a compressed activation by generator with a stable LSD radix sort on f
/// (<see cref="PammKernels.RadixBits"/> bits per pass; see <c>kernels/pamm_radix_sort.cu</c>), leaving the sorted keys and the row
/// numbers in scratch. Stability keeps each group in ascending row order, which is what makes the
/// segmented reduction deterministic.
/// </summary>
internal static class RowGrouping
{
    // A tile is one block's work (at least two rounds of 256 threads): small enough that b = 16 Ki gives
    // 32 blocks, large enough that the histogram that one block scans stays small. At most MaxTiles tiles,
    // so that scan reads at most one count per digit and tile; past that the tile length grows with b instead.
    private const int MaxTiles = 2048;
    private const int MinTileSize = 512;

    /// <summary>Bytes of the digit histogram a sort of <paramref name="rows"/> keys uses (one count per digit and tile).</summary>
    public static long HistogramBytes(int rows) => (long)PammKernels.RadixDigits * Tiles(rows, TileSize(rows)) * sizeof(uint);

    /// <summary>
    /// Sorts f into <see cref="ProductPlan.SortedKeys"/> and <see cref="ProductPlan.SortedRows"/>, with the plan's histogram
    /// and, when more than one pass is needed, its scratch buffers: the passes alternate between the two pairs so that the
    /// last one lands in the sorted pair.
    /// </summary>
    public static void Sort(IDeviceStream stream, in ProductPlan plan, ulong assignment, int rows, int k)
    {
        AssignmentWidth width = AssignmentWidths.For(k);
        int tileSize = TileSize(rows);
        int tiles = Tiles(rows, tileSize);
        int passes = Passes(k);
        (ulong Keys, ulong Rows) input = (assignment, 0UL);
        for (int pass = 0; pass < passes; pass++)
        {
            bool first = pass == 0;
            var output = (passes - 1 - pass) % 2 == 0 ? (plan.SortedKeys, plan.SortedRows) : plan.SortScratch;
            // The first pass reads f as stored; the later ones the int keys the previous pass wrote.
            AssignmentWidth keyWidth = first ? width : AssignmentWidth.Int32;
            int shift = PammKernels.RadixBits * pass;
            int digits = Digits(k, shift);
            PammKernels.RadixHistogram(stream, keyWidth, input.Keys, rows, tileSize, tiles, shift, digits, plan.Histogram);
            PammKernels.RadixScan(stream, plan.Histogram, (long)digits * tiles);
            PammKernels.RadixScatter(stream, keyWidth, input.Keys, input.Rows, rows, tileSize, tiles, shift, digits, plan.Histogram,
                output.Item1, output.Item2);
            input = output;
        }
    }

    private static int TileSize(int rows) => Math.Max(MinTileSize, (int)((rows + (long)MaxTiles - 1) / MaxTiles));

    private static int Tiles(int rows, int tileSize) => (int)((rows + (long)tileSize - 1) / tileSize);

    /// <summary>Digit values that keys below k can have at <paramref name="shift"/>: all of them except in the top pass.</summary>
    internal static int Digits(int k, int shift) => Math.Min(PammKernels.RadixDigits, (Math.Max(k - 1, 0) >> shift) + 1);

    /// <summary>Radix digits needed for generator numbers up to k − 1 (at least one pass).</summary>
    internal static int Passes(int k)
    {
        int bits = 32 - int.LeadingZeroCount(Math.Max(k - 1, 0));
        return Math.Max(1, (bits + PammKernels.RadixBits - 1) / PammKernels.RadixBits);
    }
}
