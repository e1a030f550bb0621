using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The approximate products <c>a·β·Cᵀ B̃_z + c·output_z</c> of a batch (<see cref="ProductBatch"/>: one product, or the
/// weight gradients of Q, K and V) from one compressed X, one method per stage over an explicit set of buffers:
/// <see cref="Run"/> queues the stages in the engine's order, and the stage benchmark queues the same methods one at a
/// time. The first stage builds the compression's <see cref="ProductPlan"/> (the rows grouped by generator) and runs only
/// when <see cref="BuildsPlan"/>: later products of the same compression reuse the plan and queue three launches, whatever
/// the dtypes and however many products the batch holds. Every stage rewrites all it writes, so once the whole pass has
/// run any stage can be repeated with the same result (with c = 0, as the benchmark runs it: otherwise the output's old
/// value is read). A new stage is one kernel, one launcher, one method here and one benchmark row.
/// </summary>
internal readonly struct ProductPass
{
    private readonly IDeviceStream _stream;
    private readonly DType _gradientType;
    private readonly ProductWorkspace _workspace;
    private readonly ProductPlan _plan;
    private readonly float _a;
    private readonly float _c;

    /// <param name="stream">The stream every stage is queued on.</param>
    /// <param name="compressed">The compressed X the products read.</param>
    /// <param name="plan">The compression's plan: built by this pass when <paramref name="buildsPlan"/>, else built before.</param>
    /// <param name="buildsPlan">Whether <see cref="Run"/> builds the plan first.</param>
    /// <param name="batch">Each product's G (row-major <c>compressed.Rows</c> × m) and output.</param>
    /// <param name="gradientType">Every G's element type.</param>
    /// <param name="outputType">Every output's element type.</param>
    /// <param name="layout">Every output's layout.</param>
    /// <param name="a">The products' weight.</param>
    /// <param name="c">The weight of the outputs' old values.</param>
    /// <param name="workspace">The pass's scratch, for the whole batch, where a·β and c are written for the last stage too.</param>
    public ProductPass(IDeviceStream stream, CompressedParts compressed, ProductPlan plan, bool buildsPlan, in ProductBatch batch,
        DType gradientType, DType outputType, ProductLayout layout, float a, float c, ProductWorkspace workspace)
    {
        _stream = stream;
        Compressed = compressed;
        _plan = plan;
        BuildsPlan = buildsPlan;
        Batch = batch;
        _gradientType = gradientType;
        OutputType = outputType;
        Layout = layout;
        _a = a;
        _c = c;
        _workspace = workspace;
    }

    /// <summary>What the pass reads.</summary>
    public CompressedParts Compressed { get; }

    /// <summary>Whether <see cref="Run"/> builds the plan (the compression's first product) or reuses it.</summary>
    public bool BuildsPlan { get; }

    /// <summary>The products: their gradients, widths and outputs.</summary>
    public ProductBatch Batch { get; }

    /// <summary>The outputs' element type.</summary>
    public DType OutputType { get; }

    /// <summary>The outputs' layout.</summary>
    public ProductLayout Layout { get; }

    /// <summary>The plan's stages, over this pass's compression and plan.</summary>
    public PlanPass Plan => new(_stream, Compressed, _plan);

    /// <summary>Every stage, in order.</summary>
    public void Run()
    {
        if (BuildsPlan) BuildPlan();
        ReduceChunks();
        ReduceGroups();
        Expand();
    }

    /// <summary>The plan's stage: the rows grouped by generator.</summary>
    public void BuildPlan() => Plan.Run();

    /// <summary>The plan's grouping stage (<see cref="PlanPass.GroupRows"/>).</summary>
    public void GroupRows() => Plan.GroupRows();

    /// <summary>First reduction pass: per-(chunk, generator) partial sums of α_i G_i, and where each generator's rows start.</summary>
    public void ReduceChunks() =>
        PammKernels.ReduceChunks(_stream, _gradientType, Compressed.AlphaType, _plan.SortedKeys, _plan.SortedRows, Compressed.Rows, Compressed.Alpha,
            Batch, _workspace.Partials, Compressed.K, _workspace.GroupStarts);

    /// <summary>
    /// Second reduction pass: each B̃ (k × m float32) from the partial sums, and a·β and c for the last stage (β from η on
    /// the device). Reads the group starts of the first pass, so it runs after <see cref="ReduceChunks"/> on this workspace.
    /// </summary>
    public void ReduceGroups() =>
        PammKernels.ReduceGroups(_stream, _workspace.GroupStarts, Compressed.Rows, _workspace.Partials, Batch, Compressed.K,
            _workspace.Reduced, Compressed.Dropped, _a, _c, _workspace.Scalars.Address);

    /// <summary>
    /// The last stage, <c>output = round(a·β·Cᵀ B̃ + c·output)</c> in the outputs' layout and dtype, in one launch
    /// (<c>pamm_expand</c>): C (in its own dtype) and B̃ are small, each output is written once.
    /// </summary>
    public void Expand() =>
        PammKernels.Expand(_stream, Compressed.Generators, Compressed.DType, _workspace.Reduced, Compressed.K, Compressed.Columns,
            Batch, Layout, _workspace.Scalars.Address, OutputType);
}
