namespace PammCuda.Engine;

/// <summary>
/// What every product of one compressed activation shares, whatever its gradient: the rows grouped by generator (f sorted,
/// stably, with the row numbers) and, for 16-bit generators, C widened to float32 for the last stage. A product builds it
/// once and the products after it reuse it (<see cref="GpuCompressedActivation"/> keeps it), so the sort and the widening
/// are paid once per compression, not once per product: Q, K and V share one.
/// </summary>
/// <param name="SortedKeys">f in ascending order, b ints.</param>
/// <param name="SortedRows">The row of each sorted key, b ints (ascending within a group: the sort is stable).</param>
/// <param name="WideGenerators">C as float32, k × n (0 when C is float32 already).</param>
/// <param name="Histogram">Digit counts of a radix pass (sort scratch).</param>
/// <param name="SortScratch">The ping-pong buffers of the passes before the last (0, 0 when one pass sorts: k ≤ 256).</param>
internal readonly record struct ProductPlan(
    ulong SortedKeys, ulong SortedRows, ulong WideGenerators, ulong Histogram, (ulong Keys, ulong Rows) SortScratch)
{
    /// <summary>Bytes the plan of a rows × columns input compressed to k generators of <paramref name="dtype"/> takes.</summary>
    public static long Bytes(int rows, int columns, int k, DType dtype)
    {
        var carver = new WorkspaceCarver(0);
        Carve(ref carver, rows, columns, k, dtype);
        return carver.Used;
    }

    /// <summary>The plan inside the block at <paramref name="start"/>, which holds at least <see cref="Bytes"/> bytes.</summary>
    public static ProductPlan At(ulong start, int rows, int columns, int k, DType dtype)
    {
        var carver = new WorkspaceCarver(start);
        return Carve(ref carver, rows, columns, k, dtype);
    }

    /// <summary>The plan's parts, carved next by <paramref name="carver"/>.</summary>
    public static ProductPlan Carve(ref WorkspaceCarver carver, int rows, int columns, int k, DType dtype)
    {
        long indexBytes = (long)rows * sizeof(int);
        bool multiPass = RowGrouping.Passes(k) > 1;
        return new ProductPlan(
            SortedKeys: carver.Take(indexBytes),
            SortedRows: carver.Take(indexBytes),
            WideGenerators: dtype == DType.Float32 ? 0 : carver.Take((long)k * columns * sizeof(float)),
            Histogram: carver.Take(RowGrouping.HistogramBytes(rows)),
            SortScratch: multiPass ? (carver.Take(indexBytes), carver.Take(indexBytes)) : (0, 0));
    }
}
