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
    /// Sorts, in the histogram and ping-pong buffers of <paramref name="workspace"/>, leaving the sorted keys and the
    /// matching row numbers where <see cref="SortedAt"/> says.
    /// </summary>
    public static void Sort(IDeviceStream stream, in ProductWorkspace workspace, ulong assignment, int rows, int k)
    {
        bool compact = CompressedSize.AssignmentBytesPerRow(k) == 2;
        int tileSize = TileSize(rows);
        int tiles = Tiles(rows, tileSize);
        ulong histogram = workspace.Histogram;

        int passes = Passes(k);
        for (int pass = 0; pass < passes; pass++)
        {
            bool first = pass == 0;
            var (keysIn, rowsIn) = first ? (assignment, 0UL) : Buffers(workspace, pass - 1);
            var (keysOut, rowsOut) = Buffers(workspace, pass);
            bool compactKeys = first && compact;
            int shift = 8 * pass;
            int digits = Digits(k, shift);
            PammKernels.RadixHistogram(stream, compactKeys, keysIn, rows, tileSize, tiles, shift, digits, histogram);
            PammKernels.RadixScan(stream, histogram, (long)digits * tiles);
            PammKernels.RadixScatter(stream, compactKeys, keysIn, rowsIn, rows, tileSize, tiles, shift, digits, histogram, keysOut, rowsOut);
        }
    }

    /// <summary>Where <see cref="Sort"/> leaves the sorted keys and row numbers for <paramref name="k"/> generators: the buffers of its last pass.</summary>
    public static (ulong Keys, ulong Rows) SortedAt(in ProductWorkspace workspace, int k) => Buffers(workspace, Passes(k) - 1);

    // Pass p writes the first ping-pong buffers when p is even, the second when it is odd, and reads what pass p − 1 wrote.
    private static (ulong Keys, ulong Rows) Buffers(in ProductWorkspace workspace, int pass) =>
        pass % 2 == 0 ? (workspace.SortKeys.First, workspace.SortRows.First) : (workspace.SortKeys.Second, workspace.SortRows.Second);

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
