using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// One approximate product <c>a·β·Cᵀ B̃ + c·output</c> from a compressed X and a gradient G, one method per stage over an
/// explicit set of buffers: <see cref="Run"/> queues the stages in the engine's order, and the stage benchmark queues the
/// same methods one at a time. Every stage rewrites all it writes, so once the whole pass has run any stage can be
/// repeated with the same result (with c = 0, as the benchmark runs it: otherwise the output's old value is read). A new stage is one kernel, one launcher, one method here and one benchmark row.
/// </summary>
internal readonly struct ProductPass
{
    private readonly IDeviceStream _stream;
    private readonly GemmScalars _scalars;
    private readonly ulong _gradient;
    private readonly DType _gradientType;
    private readonly ProductWorkspace _workspace;
    private readonly float _a;

    /// <param name="stream">The stream every stage is queued on.</param>
    /// <param name="scalars">Where a·β and c are written for the final GEMM.</param>
    /// <param name="compressed">The compressed X the product reads.</param>
    /// <param name="gradient">G, row-major <c>compressed.Rows</c> × <paramref name="gradientColumns"/> of <paramref name="gradientType"/>.</param>
    /// <param name="gradientColumns">m.</param>
    /// <param name="gradientType">G's element type.</param>
    /// <param name="output">Where the product goes; its float32 scratch is <see cref="ProductWorkspace.Product"/>.</param>
    /// <param name="a">The product's weight.</param>
    /// <param name="workspace">The pass's scratch.</param>
    public ProductPass(IDeviceStream stream, GemmScalars scalars, CompressedParts compressed, ulong gradient, int gradientColumns,
        DType gradientType, ProductOutput output, float a, ProductWorkspace workspace)
    {
        _stream = stream;
        _scalars = scalars;
        Compressed = compressed;
        _gradient = gradient;
        GradientColumns = gradientColumns;
        _gradientType = gradientType;
        Output = output;
        _a = a;
        _workspace = workspace;
    }

    /// <summary>What the pass reads.</summary>
    public CompressedParts Compressed { get; }

    /// <summary>m.</summary>
    public int GradientColumns { get; }

    /// <summary>Where the product goes.</summary>
    public ProductOutput Output { get; }

    /// <summary>16-bit generators, widened to float32 to meet B̃ (float32) in the final GEMM.</summary>
    public bool WidensGenerators => Compressed.DType != DType.Float32;

    /// <summary>Every stage, in order.</summary>
    public void Run()
    {
        GroupRows();
        ReduceChunks();
        ReduceGroups();
        if (WidensGenerators) WidenGenerators();
        ProductScalars();
        FinalGemm();
        if (Output.NeedsStore) StoreOutput();
    }

    /// <summary>The rows grouped by generator: a stable radix sort of f into <see cref="RowGrouping.SortedAt"/>.</summary>
    public void GroupRows() => RowGrouping.Sort(_stream, _workspace, Compressed.Assignment, Compressed.Rows, Compressed.K);

    /// <summary>First reduction pass: per-(chunk, generator) partial sums of α_i G_i.</summary>
    public void ReduceChunks()
    {
        var (keys, rows) = RowGrouping.SortedAt(_workspace, Compressed.K);
        PammKernels.ReduceChunks(_stream, _gradientType, keys, rows, Compressed.Rows, Compressed.Alpha, _gradient, GradientColumns,
            _workspace.Partials);
    }

    /// <summary>Second reduction pass: B̃ (k × m float32) from the partial sums.</summary>
    public void ReduceGroups() =>
        PammKernels.ReduceGroups(_stream, RowGrouping.SortedAt(_workspace, Compressed.K).Keys, Compressed.Rows, _workspace.Partials,
            GradientColumns, Compressed.K, _workspace.Reduced);

    /// <summary>16-bit C widened to float32, since B̃ is float32.</summary>
    /// <exception cref="InvalidOperationException">The generators are float32 already.</exception>
    public void WidenGenerators()
    {
        if (!WidensGenerators) throw new InvalidOperationException("Float32 generators are not widened.");
        PammKernels.ConvertToSingle(_stream, Compressed.DType, Compressed.Generators, (long)Compressed.K * Compressed.Columns,
            _workspace.WideGenerators);
    }

    /// <summary>a·β and c for the final GEMM, computed on the device from η (β never visits the host).</summary>
    public void ProductScalars() =>
        PammKernels.ProductScalars(_stream, Compressed.Dropped, Compressed.Rows, _a, Output.C, _scalars.ProductScale);

    /// <summary><c>a·β·Cᵀ B̃</c> (+ c·output for float32) in float32, into the output or its float32 scratch.</summary>
    public void FinalGemm()
    {
        ulong generators = WidensGenerators ? _workspace.WideGenerators : Compressed.Generators;
        var operands = new ProductOperands(generators, DType.Float32, Compressed.Columns, _workspace.Reduced, DType.Float32,
            GradientColumns, Compressed.K);
        Output.Gemm(_stream, _scalars, operands, allowTf32: false);
    }

    /// <summary>The 16-bit epilogue: the float32 product rounded once into the output.</summary>
    /// <exception cref="InvalidOperationException">The output is float32, which the final GEMM writes itself.</exception>
    public void StoreOutput() => Output.Store(_stream, (long)Compressed.Columns * GradientColumns);
}
