namespace PammCuda.Engine;

/// <summary>
/// Lays out consecutive parts of one block of workspace, each starting on a multiple of
/// <see cref="CompressedStorageLayout.SectionAlignment"/> bytes. Run once from address 0 it measures the block; run from
/// a block's address it gives the parts' addresses, so the size a caller is told and the addresses used always agree.
/// </summary>
internal struct WorkspaceCarver(ulong start)
{
    private long _used;

    /// <summary>Bytes taken so far, the alignment gaps included.</summary>
    public readonly long Used => _used;

    /// <summary>The address of the next <paramref name="bytes"/> bytes.</summary>
    public ulong Take(long bytes)
    {
        long alignment = CompressedStorageLayout.SectionAlignment;
        long offset = (_used + alignment - 1) / alignment * alignment;
        _used = offset + bytes;
        return start + (ulong)offset;
    }
}

/// <summary>The scratch one compression uses (none of it outlives the work that call queues).</summary>
/// <param name="Sampling">Keys, histogram, candidates and tile counts of the multi-block generator sampling (no bytes when b is sampled in one block).</param>
/// <param name="GeneratorRows">The k generator rows (sampled or explicit), k ints.</param>
/// <param name="RowToGenerator">Row → generator position, b ints; never cleared, so an entry means something only where
/// <see cref="GeneratorRows"/> at that position names the row (the gather writes the generators' entries).</param>
/// <param name="GeneratorSquaredNorms">‖C_j‖², k floats.</param>
/// <param name="RowSquaredNorms">‖X_i‖², b floats (written only when ε &lt; 1, always reserved so the size does not depend on ε).</param>
/// <param name="Similarities">One chunk of S = X Cᵀ, chunk rows × k floats (the GEMM path).</param>
/// <param name="GemmConstants">1 and 0 for the similarity GEMM, written by the gather.</param>
/// <param name="GeneratorSums">D = Pᵀ X, k × n floats, for generator refinement (always reserved, so the size does not
/// depend on the option; k·n floats are the generators' own size in float32).</param>
internal readonly record struct CompressWorkspace(
    ulong Sampling, ulong GeneratorRows, ulong RowToGenerator, ulong GeneratorSquaredNorms, ulong RowSquaredNorms, ulong Similarities,
    GemmConstants GemmConstants, ulong GeneratorSums)
{
    /// <summary>Bytes a compression of rows × columns to k generators needs.</summary>
    public static long Bytes(int rows, int columns, int k)
    {
        var carver = new WorkspaceCarver(0);
        Carve(ref carver, rows, columns, k, similarityChunk: true);
        return carver.Used;
    }

    /// <summary>The parts inside the block at <paramref name="start"/>, which holds at least <see cref="Bytes"/> bytes.</summary>
    public static CompressWorkspace At(ulong start, int rows, int columns, int k)
    {
        var carver = new WorkspaceCarver(start);
        return Carve(ref carver, rows, columns, k, similarityChunk: true);
    }

    /// <summary>
    /// The parts carved next by <paramref name="carver"/>; without <paramref name="similarityChunk"/>,
    /// <see cref="Similarities"/> is 0 (the fused projection writes S into its own output, so it reserves none).
    /// </summary>
    public static CompressWorkspace Carve(ref WorkspaceCarver carver, int rows, int columns, int k, bool similarityChunk)
    {
        return new CompressWorkspace(
            Sampling: carver.Take(PammKernels.SamplingScratchBytes(rows)),
            GeneratorRows: carver.Take((long)k * sizeof(int)),
            RowToGenerator: carver.Take((long)rows * sizeof(int)),
            GeneratorSquaredNorms: carver.Take((long)k * sizeof(float)),
            RowSquaredNorms: carver.Take((long)rows * sizeof(float)),
            Similarities: similarityChunk ? carver.Take((long)SimilarityChunking.ChunkRows(rows, columns, k) * k * sizeof(float)) : 0,
            GemmConstants: new GemmConstants(carver.Take(GemmConstants.Bytes)),
            GeneratorSums: carver.Take((long)k * columns * sizeof(float)));
    }
}

/// <summary>The scratch one fused projection and compression uses (none of it outlives the work that call queues).</summary>
/// <param name="Compress">Sampling, generator rows, row map and norms of the compression (no similarity chunk).</param>
/// <param name="Projection">The float32 GEMM output <c>[X Wᵀ | X Cᵀ]</c>, rows × (m + k), row-major.</param>
internal readonly record struct ProjectionWorkspace(CompressWorkspace Compress, ulong Projection)
{
    /// <summary>Bytes a projection of rows × columns onto m = <paramref name="projectionColumns"/> outputs with k generators needs.</summary>
    public static long Bytes(int rows, int columns, int k, int projectionColumns)
    {
        var carver = new WorkspaceCarver(0);
        Carve(ref carver, rows, columns, k, projectionColumns);
        return carver.Used;
    }

    /// <summary>The parts inside the block at <paramref name="start"/>, which holds at least <see cref="Bytes"/> bytes.</summary>
    public static ProjectionWorkspace At(ulong start, int rows, int columns, int k, int projectionColumns)
    {
        var carver = new WorkspaceCarver(start);
        return Carve(ref carver, rows, columns, k, projectionColumns);
    }

    private static ProjectionWorkspace Carve(ref WorkspaceCarver carver, int rows, int columns, int k, int projectionColumns) =>
        new(CompressWorkspace.Carve(ref carver, rows, columns, k, similarityChunk: false),
            carver.Take((long)rows * ((long)projectionColumns + k) * sizeof(float)));
}

/// <summary>The scratch one pass of approximate products uses (none of it outlives the work that call queues).</summary>
/// <param name="Partials">Per-(chunk, generator) partial sums of the first reduction pass, every product's side by side.</param>
/// <param name="GroupStarts">Where each generator's rows start in the sorted order (k + 1 ints), from the first reduction
/// pass for the second.</param>
/// <param name="Reduced">Each product's B̃, k × m floats, side by side.</param>
/// <param name="Plan">Room for a <see cref="ProductPlan"/> built for this pass only: carved when the compressed
/// activation keeps no plan of its own (caller storage without one), null otherwise.</param>
/// <param name="Scalars">The last stage's a·β and c (and a 0), written by the second reduction pass.</param>
internal readonly record struct ProductWorkspace(ulong Partials, ulong GroupStarts, ulong Reduced, ProductPlan? Plan, ProductScalars Scalars)
{
    /// <summary>
    /// Bytes the products of <paramref name="rows"/> compressed rows (k generators, whatever X's width and dtype) need
    /// whose scratch spans <paramref name="scratchColumns"/> columns (one product's m, or
    /// <see cref="ProductBatch.ScratchColumns"/>); <paramref name="transientPlan"/> adds room for a plan built for them alone.
    /// </summary>
    public static long Bytes(int rows, int k, long scratchColumns, bool transientPlan)
    {
        var carver = new WorkspaceCarver(0);
        Carve(ref carver, rows, k, scratchColumns, transientPlan);
        return carver.Used;
    }

    /// <summary>The parts inside the block at <paramref name="start"/>, which holds at least <see cref="Bytes"/> bytes.</summary>
    public static ProductWorkspace At(ulong start, int rows, int k, long scratchColumns, bool transientPlan)
    {
        var carver = new WorkspaceCarver(start);
        return Carve(ref carver, rows, k, scratchColumns, transientPlan);
    }

    private static ProductWorkspace Carve(ref WorkspaceCarver carver, int rows, int k, long scratchColumns, bool transientPlan) =>
        new(Partials: carver.Take(PammKernels.ReducePieces(rows, k) * scratchColumns * sizeof(float)),
            GroupStarts: carver.Take(((long)k + 1) * sizeof(int)),
            Reduced: carver.Take(k * scratchColumns * sizeof(float)),
            Plan: transientPlan ? ProductPlan.Carve(ref carver, rows, k) : null,
            Scalars: new ProductScalars(carver.Take(ProductScalars.Bytes)));
}
