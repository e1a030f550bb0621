namespace PammCuda.Engine;

/// <summary>
/// What every product of one compressed activation shares, whatever its gradient: the rows grouped by generator (f sorted,
/// stably, with the row numbers). A product builds it once and the products after it reuse it
/// (<see cref="GpuCompressedActivation"/> keeps it), so the sort is paid once per compression, not once per product: Q, K
/// and V share one.
/// </summary>
/// <param name="SortedKeys">f in ascending order, b ints.</param>
/// <param name="SortedRows">The row of each sorted key, b ints (ascending within a group: the sort is stable).</param>
/// <param name="Histogram">Digit counts of a radix pass (sort scratch).</param>
/// <param name="SortScratch">The ping-pong buffers of the passes before the last (0, 0 when one pass sorts: k ≤ 256).</param>
internal readonly record struct ProductPlan(
    ulong SortedKeys, ulong SortedRows, ulong Histogram, (ulong Keys, ulong Rows) SortScratch)
{
    /// <summary>Bytes the plan of <paramref name="rows"/> rows compressed to <paramref name="k"/> generators takes (whatever X's width and dtype).</summary>
    public static long Bytes(int rows, int k)
    {
        var carver = new WorkspaceCarver(0);
        Carve(ref carver, rows, k);
        return carver.Used;
    }

    /// <summary>The plan inside the block at <paramref name="start"/>, which holds at least <see cref="Bytes"/> bytes.</summary>
    public static ProductPlan At(ulong start, int rows, int k)
    {
        var carver = new WorkspaceCarver(start);
        return Carve(ref carver, rows, k);
    }

    /// <summary>The plan's parts, carved next by <paramref name="carver"/>.</summary>
    public static ProductPlan Carve(ref WorkspaceCarver carver, int rows, int k)
    {
        long indexBytes = (long)rows * sizeof(int);
        bool multiPass = RowGrouping.Passes(k) > 1;
        return new ProductPlan(
            SortedKeys: carver.Take(indexBytes),
            SortedRows: carver.Take(indexBytes),
            Histogram: carver.Take(RowGrouping.HistogramBytes(rows)),
            SortScratch: multiPass ? (carver.Take(indexBytes), carver.Take(indexBytes)) : (0, 0));
    }
}
