using System.Collections.Frozen;
using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// One launcher per kernel of <c>kernels/</c>. Block sizes, tiles and chunks are the kernels' own <c>#define</c>s, read
/// from the sources (<see cref="KernelSources.Constant"/>), and every launch is checked against the kernel's declaration
/// (<see cref="TypedLaunch"/>): C# restates neither a number nor a signature of the CUDA code.
/// </summary>
internal static class PammKernels
{
    /// <summary>Threads of a warp: the hardware's, which the kernels' warp-per-row split assumes too.</summary>
    public const int WarpSize = 32;

    // Grid-stride kernels: enough blocks to fill any GPU, few enough that the grid stays small.
    private const long MaxElementwiseBlocks = 65_536;

    // The multi-block sampling kernels: block sizes, the rows of one tile and the histogram the host zeroes with the selection state.
    private static readonly uint SampleKeyThreads = Threads("PAMM_SAMPLE_KEY_THREADS");
    private static readonly uint SampleTileThreads = Threads("PAMM_SAMPLE_TILE_THREADS");
    private static readonly int SampleTileRows = (int)SampleTileThreads * KernelSources.Constant("PAMM_SAMPLE_ROWS_PER_THREAD");
    private static readonly long SampleHistogramBytes = KernelSources.Constant("PAMM_SAMPLE_BINS") * (long)sizeof(uint);
    private static readonly long SampleZeroedBytes = SampleHistogramBytes + KernelSources.Constant("PAMM_SAMPLE_STATE_BYTES");

    // The one-block sampling kernel's block size.
    private static readonly uint SampleBlockThreads = Threads("PAMM_SAMPLE_BLOCK_THREADS");

    /// <summary>
    /// Most rows the one-launch sampling kernel takes (<c>pamm_sample_block</c>: one block, a few keys per thread in
    /// registers), and so the largest b sampled in one launch; more rows take the three multi-block launches.
    /// </summary>
    public static readonly int SampleBlockRows = (int)SampleBlockThreads * KernelSources.Constant("PAMM_SAMPLE_BLOCK_ROWS_PER_THREAD");

    private static readonly uint GatherThreads = Threads("PAMM_GATHER_THREADS");
    private static readonly uint RowNormsThreads = Threads("PAMM_ROW_NORMS_THREADS");
    private static readonly uint AssignThreads = Threads("PAMM_ASSIGN_THREADS");
    private static readonly uint RadixTileThreads = Threads("PAMM_RADIX_TILE_THREADS");
    private static readonly uint RadixScanThreads = Threads("PAMM_RADIX_SCAN_THREADS");
    private static readonly uint ReduceThreads = Threads("PAMM_REDUCE_THREADS");
    private static readonly uint ReduceGroupThreads = Threads("PAMM_REDUCE_GROUP_THREADS");
    private static readonly uint ProductScalarsThreads = Threads("PAMM_PRODUCT_SCALARS_THREADS");
    private static readonly uint ConvertThreads = Threads("PAMM_CONVERT_THREADS");
    private static readonly uint StoreThreads = Threads("PAMM_STORE_THREADS");
    private static readonly uint ExpandThreads = Threads("PAMM_EXPAND_THREADS");
    private static readonly uint ExpandTileRows = Threads("PAMM_EXPAND_TILE_ROWS");
    private static readonly uint ExpandTileColumns = Threads("PAMM_EXPAND_TILE_COLUMNS");
    private static readonly uint AssignmentMatrixThreads = Threads("PAMM_ASSIGNMENT_MATRIX_THREADS");
    private static readonly uint RefineThreads = Threads("PAMM_REFINE_THREADS");
    private static readonly uint RefitThreads = Threads("PAMM_REFIT_THREADS");

    private static readonly KernelFamily<DType> GatherKernels = KernelFamily.PerDType("pamm_gather");
    private static readonly KernelFamily<DType> RowNormsKernels = KernelFamily.PerDType("pamm_row_norms");
    // pamm_reduce_chunks_{G's dtype}; α's dtype is an argument, a PAMM_DTYPE_* code.
    private static readonly KernelFamily<DType> ReduceChunksKernels = KernelFamily.PerDType("pamm_reduce_chunks");
    private static readonly KernelFamily<DType> ConvertKernels = KernelFamily.PerDType("pamm_convert_to_f32");
    private static readonly KernelFamily<DType> StoreOutputKernels = KernelFamily.PerDType("pamm_store_output");
    private static readonly KernelFamily<DType> StoreColumnsKernels = KernelFamily.PerDType("pamm_store_columns");
    // pamm_expand_{the output's dtype}; C's dtype is an argument, a PAMM_DTYPE_* code.
    private static readonly KernelFamily<DType> ExpandKernels = KernelFamily.PerDType("pamm_expand");
    // pamm_assignment_matrix_{P's dtype}; f's width and α's dtype are arguments.
    private static readonly KernelFamily<DType> AssignmentMatrixKernels = KernelFamily.PerDType("pamm_assignment_matrix");
    // Generator refinement, one instance per dtype of X; f's width and α's dtype are arguments of the α fit.
    private static readonly KernelFamily<DType> RefineGeneratorsKernels = KernelFamily.PerDType("pamm_refine_generators");
    private static readonly KernelFamily<DType> RefitAlphaKernels = KernelFamily.PerDType("pamm_refit_alpha");
    private static readonly KernelFamily<AssignmentWidth> AssignKernels = KernelFamily.PerAssignmentWidth("pamm_assign");
    private static readonly KernelFamily<AssignmentWidth> AssignBFloat16AlphaKernels = KernelFamily.PerAssignmentWidth("pamm_assign_alpha_bf16");
    private static readonly KernelFamily<AssignmentWidth> RadixHistogramKernels = KernelFamily.PerAssignmentWidth("pamm_radix_histogram");
    private static readonly KernelFamily<AssignmentWidth> RadixScatterKernels = KernelFamily.PerAssignmentWidth("pamm_radix_scatter");

    // The codes of the kernels that take a dtype as an argument (PAMM_DTYPE_F32, _F16, _BF16).
    private static readonly FrozenDictionary<DType, int> DTypeCodes =
        Enum.GetValues<DType>().ToFrozenDictionary(dtype => dtype, dtype => KernelSources.Constant($"PAMM_DTYPE_{dtype.ShortName().ToUpperInvariant()}"));

    /// <summary>Sorted positions per block of the first reduction pass (<c>PAMM_REDUCE_CHUNK</c>).</summary>
    public static readonly int ReduceChunk = KernelSources.Constant("PAMM_REDUCE_CHUNK");

    // The bytes of the vectorised loops' unit (one 128-bit load) and the radix sort's digit.
    private static readonly int VectorBytes = KernelSources.Constant("PAMM_VECTOR_BYTES");
    public static readonly int RadixBits = KernelSources.Constant("PAMM_RADIX_BITS");
    public static readonly int RadixDigits = 1 << RadixBits;

    /// <summary>Rows per block of the warp-per-row kernels (row norms, assignment): their block's warps.</summary>
    public static uint RowsPerBlock(uint threads) => threads / WarpSize;

    /// <summary>The path <see cref="SampleGenerators(IDeviceStream, ulong, int, int, ulong, ulong)"/> takes for <paramref name="rows"/> rows: one block up to <see cref="SampleBlockRows"/>.</summary>
    public static SamplingPath SamplingPathFor(int rows) => rows <= SampleBlockRows ? SamplingPath.OneBlock : SamplingPath.MultiBlock;

    /// <summary>Bytes of scratch <see cref="SampleGenerators(IDeviceStream, ulong, int, int, ulong, ulong)"/> needs for <paramref name="rows"/> rows on the path it takes for them.</summary>
    public static long SamplingScratchBytes(int rows) => SamplingScratchBytes(rows, SamplingPathFor(rows));

    /// <summary>Bytes of scratch sampling <paramref name="rows"/> rows on <paramref name="path"/> needs: none in one block.</summary>
    public static long SamplingScratchBytes(int rows, SamplingPath path) =>
        path == SamplingPath.OneBlock
            ? 0
            : SampleZeroedBytes + (long)rows * (sizeof(ulong) + sizeof(uint)) + BlocksFor(rows, (uint)SampleTileRows) * sizeof(uint);

    /// <summary>
    /// The k rows with the smallest (Philox key, index), ascending, into <paramref name="generators"/>, on the path
    /// <see cref="SamplingPathFor"/> picks: one launch of one block up to <see cref="SampleBlockRows"/> rows, a fill and three launches above.
    /// </summary>
    public static void SampleGenerators(IDeviceStream stream, ulong scratch, int rows, int k, ulong seed, ulong generators) =>
        SampleGenerators(stream, scratch, rows, k, seed, generators, SamplingPathFor(rows));

    /// <summary>
    /// The k rows with the smallest (Philox key, index), ascending, into <paramref name="generators"/>, on
    /// <paramref name="path"/> (both give the same rows; tests and the sampling benchmark compare them at one b).
    /// <see cref="SamplingPath.OneBlock"/>: one launch of one block, no scratch (<paramref name="scratch"/> is not read).
    /// <see cref="SamplingPath.MultiBlock"/>: a fill and three launches over the whole GPU with <paramref name="scratch"/>
    /// (<see cref="SamplingScratchBytes(int, SamplingPath)"/> bytes) holding, in order: the top-16-bit histogram and the
    /// selection state (zeroed here), the b keys, the candidate list (b rows at most) and one count per tile.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">One block asked for more than <see cref="SampleBlockRows"/> rows.</exception>
    public static void SampleGenerators(IDeviceStream stream, ulong scratch, int rows, int k, ulong seed, ulong generators, SamplingPath path)
    {
        if (path == SamplingPath.OneBlock)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, SampleBlockRows);
            stream.Launch("pamm_sample_block", 1u, SampleBlockThreads,
                KernelArgument.Int32(rows), KernelArgument.Int32(k), KernelArgument.UInt64(seed), KernelArgument.Pointer(generators));
            return;
        }

        int tiles = (int)BlocksFor(rows, (uint)SampleTileRows);
        ulong histogram = scratch;
        ulong state = histogram + (ulong)SampleHistogramBytes;
        ulong keys = histogram + (ulong)SampleZeroedBytes;
        ulong candidates = keys + (ulong)rows * sizeof(ulong);
        ulong tileCounts = candidates + (ulong)rows * sizeof(uint);
        stream.Fill32Async(histogram, 0u, SampleZeroedBytes / sizeof(uint));

        // Each of the first two kernels ends with a step its last block does (the bucket; the threshold and tile offsets).
        stream.Launch("pamm_sample_keys", BlocksFor(rows, SampleKeyThreads), SampleKeyThreads,
            KernelArgument.Int32(rows), KernelArgument.Int32(k), KernelArgument.UInt64(seed), KernelArgument.Pointer(keys),
            KernelArgument.Pointer(histogram), KernelArgument.Pointer(state));
        stream.Launch("pamm_sample_candidates", (uint)tiles, SampleTileThreads,
            KernelArgument.Int32(rows), KernelArgument.Pointer(keys), KernelArgument.Pointer(state), KernelArgument.Pointer(candidates),
            KernelArgument.Pointer(tileCounts));
        stream.Launch("pamm_sample_scatter", (uint)tiles, SampleTileThreads,
            KernelArgument.Int32(rows), KernelArgument.Pointer(keys), KernelArgument.Pointer(state), KernelArgument.Pointer(tileCounts),
            KernelArgument.Pointer(generators));
    }

    /// <summary>
    /// C, ‖C_j‖² and the generator rows' entries of the row map (the others are left as they are: the assignment checks an
    /// entry against the generator rows); also the constants 1 and 0 (two floats) at <paramref name="gemmConstants"/>,
    /// and η = 0 at <paramref name="dropped"/> unless it is null.
    /// </summary>
    public static void Gather(IDeviceStream stream, DType dtype, ulong x, int columns, ulong generatorRows, int k,
        ulong generators, ulong squaredNorms, ulong rowToGenerator, ulong gemmConstants, ulong dropped) =>
        stream.Launch(GatherKernels.For(dtype), (uint)k, GatherThreads,
            KernelArgument.Pointer(x), KernelArgument.Int32(columns), KernelArgument.Pointer(generatorRows), KernelArgument.Int32(k),
            KernelArgument.Pointer(generators), KernelArgument.Pointer(squaredNorms), KernelArgument.Pointer(rowToGenerator),
            KernelArgument.Pointer(gemmConstants), KernelArgument.Pointer(dropped));

    public static void RowSquaredNorms(IDeviceStream stream, DType dtype, ulong x, int rows, int columns, ulong squaredNorms) =>
        stream.Launch(RowNormsKernels.For(dtype), BlocksFor(rows, RowsPerBlock(RowNormsThreads)), RowNormsThreads,
            KernelArgument.Pointer(x), KernelArgument.Int32(rows), KernelArgument.Int32(columns), KernelArgument.Pointer(squaredNorms));

    /// <summary>f, α and the ε test of rows [firstRow, firstRow + chunkRows) from S, whose rows lie <paramref name="similarityStride"/> floats apart.</summary>
    public static void Assign(IDeviceStream stream, AssignmentWidth width, DType alphaType, ulong similarities, long firstRow, int chunkRows, int k,
        long similarityStride, ulong squaredNorms, ulong rowSquaredNorms, double keepThreshold, ulong rowToGenerator, ulong generatorRows,
        ulong assignment, ulong alpha, ulong dropped) =>
        stream.Launch((AlphaIsBFloat16(alphaType) ? AssignBFloat16AlphaKernels : AssignKernels).For(width), BlocksFor(chunkRows, RowsPerBlock(AssignThreads)), AssignThreads,
            KernelArgument.Pointer(similarities), KernelArgument.Int64(firstRow), KernelArgument.Int32(chunkRows), KernelArgument.Int32(k),
            KernelArgument.Int64(similarityStride), KernelArgument.Pointer(squaredNorms), KernelArgument.Pointer(rowSquaredNorms),
            // A double travels as its bits: the kernels take no floating-point parameter wider than float.
            KernelArgument.UInt64(BitConverter.DoubleToUInt64Bits(keepThreshold)),
            KernelArgument.Pointer(rowToGenerator), KernelArgument.Pointer(generatorRows), KernelArgument.Pointer(assignment),
            KernelArgument.Pointer(alpha), KernelArgument.Pointer(dropped));

    public static void RadixHistogram(IDeviceStream stream, AssignmentWidth keyWidth, ulong keys, int count, int tileSize, int tiles, int shift,
        int digits, ulong histogram) =>
        stream.Launch(RadixHistogramKernels.For(keyWidth), (uint)tiles, RadixTileThreads,
            KernelArgument.Pointer(keys), KernelArgument.Int32(count), KernelArgument.Int32(tileSize), KernelArgument.Int32(tiles),
            KernelArgument.Int32(shift), KernelArgument.Int32(digits), KernelArgument.Pointer(histogram));

    public static void RadixScan(IDeviceStream stream, ulong counts, long count) =>
        stream.Launch("pamm_radix_scan", 1u, RadixScanThreads, KernelArgument.Pointer(counts), KernelArgument.Int64(count));

    public static void RadixScatter(IDeviceStream stream, AssignmentWidth keyWidth, ulong keys, ulong rowsIn, int count, int tileSize, int tiles,
        int shift, int digits, ulong offsets, ulong keysOut, ulong rowsOut) =>
        stream.Launch(RadixScatterKernels.For(keyWidth), (uint)tiles, RadixTileThreads,
            KernelArgument.Pointer(keys), KernelArgument.Pointer(rowsIn), KernelArgument.Int32(count), KernelArgument.Int32(tileSize),
            KernelArgument.Int32(tiles), KernelArgument.Int32(shift), KernelArgument.Int32(digits), KernelArgument.Pointer(offsets),
            KernelArgument.Pointer(keysOut), KernelArgument.Pointer(rowsOut));

    /// <summary>
    /// The widest gradient a product takes: <see cref="ReduceGroups"/> spreads its columns over grid.y, which CUDA caps at
    /// 65,535 blocks on every compute capability (<see cref="ReduceChunks"/> packs 4–8 columns a thread and allows more).
    /// </summary>
    public static int MaxGradientColumns => (int)Math.Min(int.MaxValue, (long)ushort.MaxValue * ReduceGroupThreads);

    /// <summary>Rows of the partial-sum buffer that <see cref="ReduceChunks"/> writes: one per (chunk, group) piece.</summary>
    public static long ReducePieces(int rows, int k) => (rows + (long)ReduceChunk - 1) / ReduceChunk + k - 1;

    /// <summary>
    /// The first reduction pass of every product of <paramref name="batch"/> in one launch: per-(chunk, group) partial sums
    /// of α_i G_i into <paramref name="partials"/> (product z's at its <see cref="ProductBatch.ScratchOffset"/> times
    /// <see cref="ReducePieces"/>), and where each of the k groups starts in the sorted order into
    /// <paramref name="groupStarts"/> (k + 1 ints, the last = rows).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">α stored as neither float32 nor bfloat16.</exception>
    public static void ReduceChunks(IDeviceStream stream, DType gradientType, DType alphaType, ulong sortedKeys, ulong sortedRows, int rows, ulong alpha,
        in ProductBatch batch, ulong partials, int k, ulong groupStarts)
    {
        int alphaCode = AlphaCode(alphaType);
        // Each thread owns one 128-bit chunk of columns: 4 float32 or 8 16-bit elements.
        uint columnsPerBlock = ReduceThreads * (uint)(VectorBytes / gradientType.SizeOf());
        var grid = new Dim3(BlocksFor(rows, (uint)ReduceChunk), BlocksFor(batch.MaxColumns, columnsPerBlock), (uint)batch.Count);
        stream.Launch(ReduceChunksKernels.For(gradientType), grid, ReduceThreads,
            KernelArgument.Pointer(sortedKeys), KernelArgument.Pointer(sortedRows), KernelArgument.Int32(rows), KernelArgument.Pointer(alpha),
            KernelArgument.Int32(alphaCode), KernelArgument.Pointer(batch[0].Gradient), KernelArgument.Pointer(batch[1].Gradient),
            KernelArgument.Pointer(batch[2].Gradient), KernelArgument.Int32(batch[0].GradientColumns), KernelArgument.Int32(batch[1].GradientColumns),
            KernelArgument.Int32(batch[2].GradientColumns), KernelArgument.Pointer(partials), KernelArgument.Int32(k), KernelArgument.Pointer(groupStarts));
    }

    /// <summary>
    /// B̃ of every product of <paramref name="batch"/> (k × m_z float32 at product z's <see cref="ProductBatch.ScratchOffset"/>
    /// times k in <paramref name="reduced"/>) from the partial sums and the group starts that <see cref="ReduceChunks"/>
    /// wrote, and the last stage's a·β and c, which the products share, into <paramref name="scalars"/> (β from the count
    /// at <paramref name="dropped"/>).
    /// </summary>
    public static void ReduceGroups(IDeviceStream stream, ulong groupStarts, int rows, ulong partials, in ProductBatch batch, int k, ulong reduced,
        ulong dropped, float a, float c, ulong scalars) =>
        stream.Launch("pamm_reduce_groups", new Dim3((uint)k, BlocksFor(batch.MaxColumns, ReduceGroupThreads), (uint)batch.Count), ReduceGroupThreads,
            KernelArgument.Pointer(groupStarts), KernelArgument.Int32(rows), KernelArgument.Pointer(partials),
            KernelArgument.Int32(batch[0].GradientColumns), KernelArgument.Int32(batch[1].GradientColumns), KernelArgument.Int32(batch[2].GradientColumns),
            KernelArgument.Int32(k), KernelArgument.Pointer(reduced), KernelArgument.Pointer(dropped), KernelArgument.Float32(a),
            KernelArgument.Float32(c), KernelArgument.Pointer(scalars));

    /// <summary>
    /// The GEMM scalars a·β, c and 0 of a product (three floats, <see cref="ProductScalars"/>) into
    /// <paramref name="scalars"/>; β from the dropped count at <paramref name="dropped"/> (0: β = 1).
    /// </summary>
    public static void ProductScalars(IDeviceStream stream, ulong dropped, int rows, float a, float c, ulong scalars) =>
        stream.Launch("pamm_product_scalars", 1u, ProductScalarsThreads,
            KernelArgument.Pointer(dropped), KernelArgument.Int32(rows), KernelArgument.Float32(a), KernelArgument.Float32(c),
            KernelArgument.Pointer(scalars));

    /// <summary>
    /// The last stage of every product of <paramref name="batch"/>, <c>output_z = round(a·β·Cᵀ B̃_z + c·output_z)</c>
    /// (n × m_z) or <c>round(a·β·B̃_zᵀ C + c·output_z)</c> (m_z × n, <see cref="ProductLayout.GradientByInput"/>), row-major
    /// in <paramref name="outputType"/>, from C (k × n) in its own <paramref name="generatorType"/> and each B̃_z (k × m_z,
    /// float32, at its <see cref="ProductBatch.ScratchOffset"/> times k in <paramref name="reduced"/>), with a·β and c
    /// read from <paramref name="scalars"/> (<see cref="Engine.ProductScalars"/>). One launch for every pair of dtypes
    /// (the kernel is the output dtype's), its grid the largest output's tiles for each product.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="generatorType"/> is not a <see cref="DType"/>.</exception>
    public static void Expand(IDeviceStream stream, ulong generators, DType generatorType, ulong reduced, int k, int n, in ProductBatch batch,
        ProductLayout layout, ulong scalars, DType outputType)
    {
        if (!DTypeCodes.TryGetValue(generatorType, out int generatorCode))
            throw new ArgumentOutOfRangeException(nameof(generatorType), generatorType, "Not a dtype the kernels read.");
        // Either layout has one tile row or column per 64 or 128 of n and of m: the most tiles are the widest product's.
        int m = batch.MaxColumns;
        var (rows, columns) = layout == ProductLayout.InputByGradient ? (n, m) : (m, n);
        stream.Launch(ExpandKernels.For(outputType),
            new Dim3(checked(BlocksFor(columns, ExpandTileColumns) * BlocksFor(rows, ExpandTileRows)), 1, (uint)batch.Count), ExpandThreads,
            KernelArgument.Pointer(generators), KernelArgument.Int32(generatorCode), KernelArgument.Pointer(reduced),
            KernelArgument.Int32(k), KernelArgument.Int32(n), KernelArgument.Int32(batch[0].GradientColumns),
            KernelArgument.Int32(batch[1].GradientColumns), KernelArgument.Int32(batch[2].GradientColumns),
            KernelArgument.Int32(layout == ProductLayout.InputByGradient ? 0 : 1), KernelArgument.Pointer(scalars),
            KernelArgument.Pointer(batch[0].Output), KernelArgument.Pointer(batch[1].Output), KernelArgument.Pointer(batch[2].Output));
    }

    /// <summary>
    /// Pᵀ (k × rows, row-major, <paramref name="matrixType"/>) with Pᵀ[j, i] = α_i where f(i) = j and 0 elsewhere: the dense
    /// assignment of <see cref="AssignmentMatrixProduct"/>, α rounded once to <paramref name="matrixType"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// α stored as neither float32 nor bfloat16, an undefined <paramref name="assignmentWidth"/> or <paramref name="matrixType"/>.
    /// </exception>
    public static void AssignmentMatrix(IDeviceStream stream, AssignmentWidth assignmentWidth, ulong assignment, DType alphaType, ulong alpha,
        int rows, int k, DType matrixType, ulong matrix)
    {
        int alphaCode = AlphaCode(alphaType);
        if (!Enum.IsDefined(assignmentWidth))
            throw new ArgumentOutOfRangeException(nameof(assignmentWidth), assignmentWidth, "Not a width the kernels read.");
        if (!DTypeCodes.ContainsKey(matrixType))
            throw new ArgumentOutOfRangeException(nameof(matrixType), matrixType, "Not a dtype the kernels write.");
        stream.Launch(AssignmentMatrixKernels.For(matrixType), BlocksFor(rows, AssignmentMatrixThreads), AssignmentMatrixThreads,
            KernelArgument.Pointer(assignment), KernelArgument.Int32(assignmentWidth.Bytes()), KernelArgument.Pointer(alpha),
            KernelArgument.Int32(alphaCode), KernelArgument.Int32(rows), KernelArgument.Int32(k), KernelArgument.Pointer(matrix));
    }

    /// <summary>
    /// Each generator C_j (k × <paramref name="columns"/>, row-major, <paramref name="dtype"/>) turned to its row of
    /// <paramref name="sums"/> (D = Pᵀ X, float32) at its norm, and its new ‖C_j‖² over the old in
    /// <paramref name="squaredNorms"/>; a generator whose scale is not a positive finite number stays (pamm_refine_generators).
    /// </summary>
    public static void RefineGenerators(IDeviceStream stream, DType dtype, ulong sums, int k, int columns, ulong generators, ulong squaredNorms) =>
        stream.Launch(RefineGeneratorsKernels.For(dtype), (uint)k, RefineThreads,
            KernelArgument.Pointer(sums), KernelArgument.Int32(columns), KernelArgument.Pointer(generators), KernelArgument.Pointer(squaredNorms));

    /// <summary>
    /// α_i ← ⟨X_i, C_f(i)⟩ / ‖C_f(i)‖² for every row whose α is not 0, stored in <paramref name="alphaType"/> (pamm_refit_alpha, a warp a row).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">α stored as neither float32 nor bfloat16.</exception>
    public static void RefitAlpha(IDeviceStream stream, DType dtype, ulong x, int rows, int columns, ulong generators, ulong squaredNorms,
        AssignmentWidth assignmentWidth, ulong assignment, DType alphaType, ulong alpha)
    {
        int alphaCode = AlphaCode(alphaType);
        stream.Launch(RefitAlphaKernels.For(dtype), BlocksFor(rows, RowsPerBlock(RefitThreads)), RefitThreads,
            KernelArgument.Pointer(x), KernelArgument.Int32(rows), KernelArgument.Int32(columns), KernelArgument.Pointer(generators),
            KernelArgument.Pointer(squaredNorms), KernelArgument.Pointer(assignment), KernelArgument.Int32(assignmentWidth.Bytes()),
            KernelArgument.Pointer(alpha), KernelArgument.Int32(alphaCode));
    }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sourceType"/> is float32 (nothing to widen) or unknown.</exception>
    public static void ConvertToSingle(IDeviceStream stream, DType sourceType, ulong source, long count, ulong target) =>
        stream.Launch(ConvertKernels.For(SixteenBit(sourceType, nameof(sourceType))), ElementwiseBlocks(count, ConvertThreads), ConvertThreads,
            KernelArgument.Pointer(source), KernelArgument.Int64(count), KernelArgument.Pointer(target));

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="outputType"/> is float32 (the GEMM writes it) or unknown.</exception>
    public static void StoreOutput(IDeviceStream stream, DType outputType, ulong product, long count, float c, ulong output) =>
        stream.Launch(StoreOutputKernels.For(SixteenBit(outputType, nameof(outputType))), ElementwiseBlocks(count, StoreThreads), StoreThreads,
            KernelArgument.Pointer(product), KernelArgument.Int64(count), KernelArgument.Float32(c), KernelArgument.Pointer(output));

    /// <summary>
    /// The first <paramref name="columns"/> of each of <paramref name="rows"/> float32 rows <paramref name="sourceStride"/>
    /// floats apart into a dense rows × columns <paramref name="output"/> of <paramref name="outputType"/> (the fused projection's epilogue).
    /// </summary>
    public static void StoreColumns(IDeviceStream stream, DType outputType, ulong source, long sourceStride, int rows, int columns, ulong output) =>
        stream.Launch(StoreColumnsKernels.For(outputType), ElementwiseBlocks((long)rows * columns, StoreThreads), StoreThreads,
            KernelArgument.Pointer(source), KernelArgument.Int64(sourceStride), KernelArgument.Int32(rows), KernelArgument.Int32(columns),
            KernelArgument.Pointer(output));

    /// <exception cref="ArgumentOutOfRangeException">α stored as neither float32 nor bfloat16.</exception>
    private static bool AlphaIsBFloat16(DType alphaType) => CompressedSize.AlphaBytesPerRow(alphaType) == 2;

    /// <summary>The PAMM_DTYPE_* code of α's storage, for the kernels that read α through pamm_load_dtype.</summary>
    /// <exception cref="ArgumentOutOfRangeException">α stored as neither float32 nor bfloat16.</exception>
    private static int AlphaCode(DType alphaType) => DTypeCodes[AlphaIsBFloat16(alphaType) ? DType.BFloat16 : DType.Float32];

    private static DType SixteenBit(DType dtype, string name) =>
        dtype is DType.Float16 or DType.BFloat16 ? dtype : throw new ArgumentOutOfRangeException(name, dtype, "A 16-bit dtype is needed here.");

    private static uint Threads(string define) => (uint)KernelSources.Constant(define);

    private static uint BlocksFor(long items, uint perBlock) => (uint)((items + perBlock - 1) / perBlock);

    private static uint ElementwiseBlocks(long count, uint threads) => (uint)Math.Clamp((count + threads - 1) / threads, 1, MaxElementwiseBlocks);
}
