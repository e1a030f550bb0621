using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// One launcher per kernel of <c>kernels/</c>: packs the arguments exactly as the kernel declares its
/// parameters (device addresses as <see cref="ulong"/>) and picks grid and block sizes, which must
/// agree with the <c>__launch_bounds__</c> and the work split written beside each kernel.
/// </summary>
internal static unsafe class PammKernels
{
    // Sampling: the block sizes, tile and histogram of kernels/pamm_sample_generators.cu.
    private const uint SampleKeyThreads = 256, SampleSelectThreads = 1024, SampleTileThreads = 256;
    private const int SampleTileRows = 256 * 8, SampleHistogramBins = 65_536, SampleStateBytes = 32;
    private const long SampleZeroedBytes = SampleHistogramBins * sizeof(uint) + SampleStateBytes;
    private const uint GatherThreads = 256, RowNormsThreads = 256, AssignThreads = 256, SimilarityThreads = 256;
    // Rows per block of kernels/pamm_similarity_argmax.cu: 8 warps × 4 rows.
    private const uint SimilarityBlockRows = 32;
    private const uint RadixTileThreads = 256, RadixScanThreads = 1024, ReduceThreads = 128, ReduceGroupThreads = 256, ElementwiseThreads = 256;

    /// <summary>Sorted positions per block of the first reduction pass (<c>PAMM_REDUCE_CHUNK</c>).</summary>
    public const int ReduceChunk = 32;
    private const uint RowsPerWarpBlock = 256 / 32;
    private const long MaxElementwiseBlocks = 65_536;

    /// <summary>Bytes of scratch <see cref="SampleGenerators"/> needs for <paramref name="rows"/> rows.</summary>
    public static long SamplingScratchBytes(int rows) =>
        SampleZeroedBytes + (long)rows * (sizeof(ulong) + sizeof(uint)) + BlocksFor(rows, SampleTileRows) * sizeof(uint);

    /// <summary>
    /// The k rows with the smallest (Philox key, index), ascending, into <paramref name="generators"/>.
    /// <paramref name="scratch"/> (<see cref="SamplingScratchBytes"/> bytes) holds, in order: the top-16-bit histogram and
    /// the selection state (zeroed here), the b keys, the candidate list (b rows at most) and one count per tile.
    /// </summary>
    public static void SampleGenerators(IDeviceStream stream, ulong scratch, int rows, int k, ulong seed, ulong generators)
    {
        int tiles = (int)BlocksFor(rows, SampleTileRows);
        const long zeroedBytes = SampleZeroedBytes;
        ulong histogram = scratch;
        ulong state = histogram + SampleHistogramBins * sizeof(uint);
        ulong keys = histogram + (ulong)zeroedBytes;
        ulong candidates = keys + (ulong)rows * sizeof(ulong);
        ulong tileCounts = candidates + (ulong)rows * sizeof(uint);
        stream.Fill32Async(histogram, 0u, zeroedBytes / sizeof(uint));

        void** keysArgs = stackalloc void*[] { &rows, &seed, &keys, &histogram };
        stream.Launch(stream.Device.GetKernel("pamm_sample_keys"), BlocksFor(rows, SampleKeyThreads), SampleKeyThreads, 0, keysArgs);
        void** digitArgs = stackalloc void*[] { &k, &histogram, &state };
        stream.Launch(stream.Device.GetKernel("pamm_sample_digit"), 1u, SampleSelectThreads, 0, digitArgs);
        void** candidatesArgs = stackalloc void*[] { &rows, &keys, &state, &candidates, &tileCounts };
        stream.Launch(stream.Device.GetKernel("pamm_sample_candidates"), (uint)tiles, SampleTileThreads, 0, candidatesArgs);
        void** thresholdArgs = stackalloc void*[] { &tiles, &keys, &candidates, &state, &tileCounts };
        stream.Launch(stream.Device.GetKernel("pamm_sample_threshold"), 1u, SampleSelectThreads, 0, thresholdArgs);
        void** scatterArgs = stackalloc void*[] { &rows, &keys, &state, &tileCounts, &generators };
        stream.Launch(stream.Device.GetKernel("pamm_sample_scatter"), (uint)tiles, SampleTileThreads, 0, scatterArgs);
    }

    public static void Gather(IDeviceStream stream, DType dtype, ulong x, int columns, ulong generatorRows, int k,
        ulong generators, ulong squaredNorms, ulong rowToGenerator)
    {
        var name = dtype switch { DType.Float32 => "pamm_gather_f32", DType.Float16 => "pamm_gather_f16", _ => "pamm_gather_bf16" };
        void** args = stackalloc void*[] { &x, &columns, &generatorRows, &k, &generators, &squaredNorms, &rowToGenerator };
        stream.Launch(stream.Device.GetKernel(name), (uint)k, GatherThreads, 0, args);
    }

    public static void RowSquaredNorms(IDeviceStream stream, DType dtype, ulong x, int rows, int columns, ulong squaredNorms)
    {
        var name = dtype switch { DType.Float32 => "pamm_row_norms_f32", DType.Float16 => "pamm_row_norms_f16", _ => "pamm_row_norms_bf16" };
        void** args = stackalloc void*[] { &x, &rows, &columns, &squaredNorms };
        stream.Launch(stream.Device.GetKernel(name), BlocksFor(rows, RowsPerWarpBlock), RowNormsThreads, 0, args);
    }

    public static void Assign(IDeviceStream stream, bool compactAssignment, ulong similarities, long firstRow, int chunkRows, int k,
        ulong squaredNorms, ulong rowSquaredNorms, double keepThreshold, ulong rowToGenerator, ulong assignment, ulong alpha, ulong dropped)
    {
        var name = compactAssignment ? "pamm_assign_u16" : "pamm_assign_i32";
        ulong keepThresholdBits = BitConverter.DoubleToUInt64Bits(keepThreshold);
        void** args = stackalloc void*[]
        {
            &similarities, &firstRow, &chunkRows, &k, &squaredNorms, &rowSquaredNorms, &keepThresholdBits,
            &rowToGenerator, &assignment, &alpha, &dropped,
        };
        stream.Launch(stream.Device.GetKernel(name), BlocksFor(chunkRows, RowsPerWarpBlock), AssignThreads, 0, args);
    }

    public static void SimilarityArgmax(IDeviceStream stream, DType dtype, bool compactAssignment, ulong x, int rows, int columns,
        ulong generators, int k, ulong squaredNorms, ulong rowSquaredNorms, double keepThreshold, ulong rowToGenerator,
        ulong assignment, ulong alpha, ulong dropped)
    {
        var name = (dtype, compactAssignment) switch
        {
            (DType.Float32, true) => "pamm_similarity_argmax_f32_u16",
            (DType.Float32, false) => "pamm_similarity_argmax_f32_i32",
            (DType.Float16, true) => "pamm_similarity_argmax_f16_u16",
            (DType.Float16, false) => "pamm_similarity_argmax_f16_i32",
            (_, true) => "pamm_similarity_argmax_bf16_u16",
            _ => "pamm_similarity_argmax_bf16_i32",
        };
        ulong keepThresholdBits = BitConverter.DoubleToUInt64Bits(keepThreshold);
        void** args = stackalloc void*[]
        {
            &x, &rows, &columns, &generators, &k, &squaredNorms, &rowSquaredNorms, &keepThresholdBits,
            &rowToGenerator, &assignment, &alpha, &dropped,
        };
        stream.Launch(stream.Device.GetKernel(name), BlocksFor(rows, SimilarityBlockRows), SimilarityThreads, 0, args);
    }

    public static void RadixHistogram(IDeviceStream stream, bool compactKeys, ulong keys, int count, int tileSize, int tiles, int shift,
        int digits, ulong histogram)
    {
        var name = compactKeys ? "pamm_radix_histogram_u16" : "pamm_radix_histogram_i32";
        void** args = stackalloc void*[] { &keys, &count, &tileSize, &tiles, &shift, &digits, &histogram };
        stream.Launch(stream.Device.GetKernel(name), (uint)tiles, RadixTileThreads, 0, args);
    }

    public static void RadixScan(IDeviceStream stream, ulong counts, long count)
    {
        void** args = stackalloc void*[] { &counts, &count };
        stream.Launch(stream.Device.GetKernel("pamm_radix_scan"), 1u, RadixScanThreads, 0, args);
    }

    public static void RadixScatter(IDeviceStream stream, bool compactKeys, ulong keys, ulong rowsIn, int count, int tileSize, int tiles,
        int shift, int digits, ulong offsets, ulong keysOut, ulong rowsOut)
    {
        var name = compactKeys ? "pamm_radix_scatter_u16" : "pamm_radix_scatter_i32";
        void** args = stackalloc void*[] { &keys, &rowsIn, &count, &tileSize, &tiles, &shift, &digits, &offsets, &keysOut, &rowsOut };
        stream.Launch(stream.Device.GetKernel(name), (uint)tiles, RadixTileThreads, 0, args);
    }

    /// <summary>Rows of the partial-sum buffer that <see cref="ReduceChunks"/> writes: one per (chunk, group) piece.</summary>
    public static long ReducePieces(int rows, int k) => (rows + (long)ReduceChunk - 1) / ReduceChunk + k - 1;

    public static void ReduceChunks(IDeviceStream stream, DType gradientType, ulong sortedKeys, ulong sortedRows, int rows, ulong alpha,
        ulong gradient, int columns, ulong partials)
    {
        var name = gradientType switch
        {
            DType.Float32 => "pamm_reduce_chunks_f32",
            DType.Float16 => "pamm_reduce_chunks_f16",
            _ => "pamm_reduce_chunks_bf16",
        };
        // Each thread owns one 128-bit chunk of columns: 4 float32 or 8 16-bit elements.
        uint columnsPerBlock = ReduceThreads * (uint)(16 / gradientType.SizeOf());
        void** args = stackalloc void*[] { &sortedKeys, &sortedRows, &rows, &alpha, &gradient, &columns, &partials };
        var grid = new Dim3(BlocksFor(rows, (uint)ReduceChunk), BlocksFor(columns, columnsPerBlock));
        stream.Launch(stream.Device.GetKernel(name), grid, ReduceThreads, 0, args);
    }

    public static void ReduceGroups(IDeviceStream stream, ulong sortedKeys, int rows, ulong partials, int columns, int k, ulong reduced)
    {
        void** args = stackalloc void*[] { &sortedKeys, &rows, &partials, &columns, &k, &reduced };
        var grid = new Dim3((uint)k, BlocksFor(columns, ReduceGroupThreads));
        stream.Launch(stream.Device.GetKernel("pamm_reduce_groups"), grid, ReduceGroupThreads, 0, args);
    }

    public static void ProductScalars(IDeviceStream stream, ulong dropped, int rows, float a, float c, ulong scalars)
    {
        void** args = stackalloc void*[] { &dropped, &rows, &a, &c, &scalars };
        stream.Launch(stream.Device.GetKernel("pamm_product_scalars"), 1u, 32u, 0, args);
    }

    public static void ConvertToSingle(IDeviceStream stream, DType sourceType, ulong source, long count, ulong target)
    {
        var name = sourceType == DType.Float16 ? "pamm_convert_to_f32_f16" : "pamm_convert_to_f32_bf16";
        void** args = stackalloc void*[] { &source, &count, &target };
        stream.Launch(stream.Device.GetKernel(name), ElementwiseBlocks(count), ElementwiseThreads, 0, args);
    }

    public static void StoreOutput(IDeviceStream stream, DType outputType, ulong product, long count, float c, ulong output)
    {
        var name = outputType == DType.Float16 ? "pamm_store_output_f16" : "pamm_store_output_bf16";
        void** args = stackalloc void*[] { &product, &count, &c, &output };
        stream.Launch(stream.Device.GetKernel(name), ElementwiseBlocks(count), ElementwiseThreads, 0, args);
    }

    private static uint BlocksFor(long items, uint perBlock) => (uint)((items + perBlock - 1) / perBlock);

    // Grid-stride kernels: enough blocks to fill any GPU, few enough that the grid stays small.
    private static uint ElementwiseBlocks(long count) => (uint)Math.Clamp((count + ElementwiseThreads - 1) / ElementwiseThreads, 1, MaxElementwiseBlocks);
}
