using PammCuda.Cpu;
using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// One compression of X, one method per stage over an explicit set of buffers: <see cref="Run"/> queues the stages in
/// the engine's order, and the stage benchmark queues the same methods one at a time. Every stage rewrites all it writes,
/// so once the whole pass has run any stage can be repeated with the same result (what timing a stage alone needs), with
/// one exception: all chunks share one similarity buffer, so <see cref="Assign"/> of a chunk reads what the last
/// <see cref="Similarities"/> wrote, and must follow that chunk's when there is more than one.
/// A new stage is one kernel, one launcher in <see cref="PammKernels"/>, one method here and one benchmark row.
/// </summary>
internal readonly struct CompressPass
{
    private readonly IDeviceStream _stream;
    private readonly ulong _x;
    private readonly CompressWorkspace _workspace;
    private readonly ulong _seed;
    private readonly double _keepThreshold;

    /// <param name="stream">The stream every stage is queued on.</param>
    /// <param name="x">X, row-major <c>compressed.Rows</c> × <c>compressed.Columns</c> of <c>compressed.DType</c>.</param>
    /// <param name="compressed">Where C, f, α and η go.</param>
    /// <param name="workspace">The pass's scratch.</param>
    /// <param name="explicitGeneratorRows">
    /// The address of k explicit generator row numbers, or null to have <see cref="SampleGenerators"/> sample them into
    /// <see cref="CompressWorkspace.GeneratorRows"/> of <paramref name="workspace"/>.
    /// </param>
    /// <param name="options">Seed and ε.</param>
    public CompressPass(IDeviceStream stream, ulong x, CompressedParts compressed, CompressWorkspace workspace,
        ulong? explicitGeneratorRows, PammOptions options)
    {
        _stream = stream;
        _x = x;
        Compressed = compressed;
        _workspace = workspace;
        SamplesGenerators = explicitGeneratorRows is null;
        GeneratorRows = explicitGeneratorRows ?? workspace.GeneratorRows;
        _seed = options.Seed;
        TestsNeighbourhood = options.Epsilon < 1;
        RefinesGenerators = options.RefineGenerators;
        _keepThreshold = 1 - options.Epsilon * options.Epsilon;
        SimilarityChunkRows = SimilarityChunking.ChunkRows(compressed.Rows, compressed.Columns, compressed.K);
    }

    /// <summary>What the pass writes.</summary>
    public CompressedParts Compressed { get; }

    /// <summary>k.</summary>
    public int K => Compressed.K;

    /// <summary>The k generator row numbers the gather reads.</summary>
    public ulong GeneratorRows { get; }

    /// <summary>The generators are sampled (not given explicitly), so <see cref="SampleGenerators"/> is a stage of <see cref="Run"/>.</summary>
    public bool SamplesGenerators { get; }

    /// <summary>ε &lt; 1: the ε test needs the row norms, so <see cref="RowSquaredNorms"/> is a stage of <see cref="Run"/>.</summary>
    public bool TestsNeighbourhood { get; }

    /// <summary>
    /// <see cref="PammOptions.RefineGenerators"/>: <see cref="RefineGenerators()"/> is a stage of <see cref="Run"/>, after the assignment.
    /// </summary>
    public bool RefinesGenerators { get; }

    /// <summary>The GEMM constants 1 and 0 in the workspace, written by <see cref="Gather"/>.</summary>
    public GemmConstants GemmConstants => _workspace.GemmConstants;

    /// <summary>Rows per similarity GEMM and assignment launch.</summary>
    public int SimilarityChunkRows { get; }

    /// <summary>Chunks of the similarity GEMM and assignment.</summary>
    public int SimilarityChunks => (int)((Compressed.Rows + (long)SimilarityChunkRows - 1) / SimilarityChunkRows);

    /// <summary>Every stage, in order.</summary>
    public void Run()
    {
        if (SamplesGenerators) SampleGenerators();
        Gather();
        // ε ≥ 1 keeps every row, so the row norms that only the ε test reads are not computed at all.
        if (TestsNeighbourhood) RowSquaredNorms();
        for (int chunk = 0; chunk < SimilarityChunks; chunk++)
        {
            Similarities(chunk);
            Assign(chunk);
        }
        if (RefinesGenerators) RefineGenerators();
    }

    /// <summary>Generator sampling: the k generator rows, ascending.</summary>
    /// <exception cref="InvalidOperationException">The generators are explicit: sampling would overwrite them.</exception>
    public void SampleGenerators()
    {
        if (!SamplesGenerators) throw new InvalidOperationException("The generators are given explicitly; there is nothing to sample.");
        PammKernels.SampleGenerators(_stream, _workspace.Sampling, Compressed.Rows, K, _seed, GeneratorRows);
    }

    /// <summary>
    /// C and ‖C_j‖² gathered, and the generator rows marked in the row map; the GEMM constants 1 and 0 written beside
    /// them, for the similarity GEMM that follows, and η = 0, which the assignment counts up only when ε &lt; 1. The map
    /// is never cleared (the assignment trusts an entry only where it names a generator of that row), which saves a fill
    /// of b ints before every gather.
    /// </summary>
    public void Gather() =>
        PammKernels.Gather(_stream, Compressed.DType, _x, Compressed.Columns, GeneratorRows, K, Compressed.Generators,
            _workspace.GeneratorSquaredNorms, _workspace.RowToGenerator, _workspace.GemmConstants.Address, Compressed.Dropped);

    /// <summary>‖X_i‖² of every row. <see cref="Run"/> runs it only when ε &lt; 1; it can be timed either way.</summary>
    public void RowSquaredNorms() =>
        PammKernels.RowSquaredNorms(_stream, Compressed.DType, _x, Compressed.Rows, Compressed.Columns, _workspace.RowSquaredNorms);

    /// <summary>S = X_chunk Cᵀ of one chunk of rows, full float32 (no TF32: the argmax and α need it).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunk"/> outside [0, <see cref="SimilarityChunks"/>).</exception>
    public void Similarities(int chunk)
    {
        var (first, count) = ChunkRows(chunk);
        _stream.Gemm(SimilarityChunking.Gemm(_x, first, count, Compressed.Columns, Compressed.DType, Compressed.Generators, K,
            GemmConstants.One, GemmConstants.Zero, _workspace.Similarities));
    }

    /// <summary>
    /// f, α and the ε test of one chunk from its similarities. With ε &lt; 1 the first chunk zeroes η before it counts, so
    /// that η is one compression's count however often this stage runs; with ε ≥ 1 nothing is counted and η stays the 0
    /// that <see cref="Gather"/> wrote, with no fill queued.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunk"/> outside [0, <see cref="SimilarityChunks"/>).</exception>
    public void Assign(int chunk)
    {
        var (first, count) = ChunkRows(chunk);
        if (chunk == 0) ResetDroppedCount();
        AssignRows(_workspace.Similarities, K, first, count);
    }

    /// <summary>
    /// f, α, the ε test and η of every row at once from similarities computed elsewhere: row i's k similarities start at
    /// <paramref name="similarities"/> + i·<paramref name="similarityStride"/> floats (the fused projection's
    /// <c>[X Wᵀ | X Cᵀ]</c>, whose S follows the m projection columns). Zeroes η first where ε &lt; 1 (see <see cref="Assign"/>).
    /// </summary>
    public void AssignAllRows(ulong similarities, long similarityStride)
    {
        ResetDroppedCount();
        AssignRows(similarities, similarityStride, 0, Compressed.Rows);
    }

    /// <summary>
    /// Generator refinement (<see cref="CpuGeneratorRefinement"/> gives the rules) over the similarity chunk, which the
    /// assignment no longer needs: D = Pᵀ X chunk by chunk (the dense assignment of a chunk's rows, in X's dtype, and one
    /// GEMM adding Pᵀ X of those rows into the sums), then C turned to D at its norm and α fitted to it again.
    /// </summary>
    public void RefineGenerators() => RefineGenerators(_workspace.Similarities, SimilarityChunkRows);

    /// <summary>
    /// Generator refinement with the dense assignment of up to <paramref name="chunkRows"/> rows at a time in
    /// <paramref name="matrixScratch"/> (k × chunkRows elements of X's dtype: what a similarity chunk of as many rows holds).
    /// </summary>
    public void RefineGenerators(ulong matrixScratch, int chunkRows)
    {
        var parts = Compressed;
        int elementBytes = parts.DType.SizeOf(), assignmentBytes = parts.AssignmentWidth.Bytes(), alphaBytes = parts.AlphaType.SizeOf();
        for (int first = 0; first < parts.Rows; first += chunkRows)
        {
            int count = Math.Min(chunkRows, parts.Rows - first);
            PammKernels.AssignmentMatrix(_stream, parts.AssignmentWidth, parts.Assignment + (ulong)first * (ulong)assignmentBytes, parts.AlphaType,
                parts.Alpha + (ulong)first * (ulong)alphaBytes, count, K, parts.DType, matrixScratch);
            _stream.Gemm(AssignmentMatrixProduct.Reduce(matrixScratch, count, K, _x + (ulong)first * (ulong)parts.Columns * (ulong)elementBytes,
                parts.Columns, parts.DType, GemmConstants.One, first == 0 ? GemmConstants.Zero : GemmConstants.One, _workspace.GeneratorSums));
        }
        PammKernels.RefineGenerators(_stream, parts.DType, _workspace.GeneratorSums, K, parts.Columns, parts.Generators,
            _workspace.GeneratorSquaredNorms);
        PammKernels.RefitAlpha(_stream, parts.DType, _x, parts.Rows, parts.Columns, parts.Generators, _workspace.GeneratorSquaredNorms,
            parts.AssignmentWidth, parts.Assignment, parts.AlphaType, parts.Alpha);
    }

    // Only the ε test counts η; without it the assignment leaves η as the gather wrote it.
    private void ResetDroppedCount()
    {
        if (TestsNeighbourhood) _stream.Fill32Async(Compressed.Dropped, 0u, 1);
    }

    private void AssignRows(ulong similarities, long similarityStride, int first, int count) =>
        PammKernels.Assign(_stream, Compressed.AssignmentWidth, Compressed.AlphaType, similarities, first, count, K, similarityStride,
            _workspace.GeneratorSquaredNorms, TestsNeighbourhood ? _workspace.RowSquaredNorms : 0UL, _keepThreshold,
            _workspace.RowToGenerator, GeneratorRows, Compressed.Assignment, Compressed.Alpha, Compressed.Dropped);

    private (int First, int Count) ChunkRows(int chunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunk);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chunk, SimilarityChunks);
        int first = chunk * SimilarityChunkRows;
        return (first, Math.Min(SimilarityChunkRows, Compressed.Rows - first));
    }
}
