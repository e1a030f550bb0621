using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// One approximate product <c>a·β·Cᵀ B̃ + c·output</c> from a compressed X and a gradient G, one method per stage over an
/// explicit set of buffers: <see cref="Run"/> queues the stages in the engine's order, and the stage benchmark queues the
/// same methods one at a time. The first two stages build the compression's <see cref="ProductPlan"/> (the grouping and the
/// widened generators) and run only when <see cref="BuildsPlan"/>: later products of the same compression reuse the plan
/// and queue three launches, whatever the output's dtype. Every stage rewrites all it writes, so once the whole pass has run
/// any stage can be repeated with the same result (with c = 0, as the benchmark runs it: otherwise the output's old value
/// is read). A new stage is one kernel, one launcher, one method here and one benchmark row.
/// </summary>
internal readonly struct ProductPass
{
    private readonly IDeviceStream _stream;
    private readonly ulong _gradient;
    private readonly DType _gradientType;
    private readonly ProductWorkspace _workspace;
    private readonly ProductPlan _plan;
    private readonly float _a;

    /// <param name="stream">The stream every stage is queued on.</param>
    /// <param name="compressed">The compressed X the product reads.</param>
    /// <param name="plan">The compression's plan: built by this pass when <paramref name="buildsPlan"/>, else built before.</param>
    /// <param name="buildsPlan">Whether <see cref="Run"/> builds the plan first.</param>
    /// <param name="gradient">G, row-major <c>compressed.Rows</c> × <paramref name="gradientColumns"/> of <paramref name="gradientType"/>.</param>
    /// <param name="gradientColumns">m.</param>
    /// <param name="gradientType">G's element type.</param>
    /// <param name="output">Where the product goes.</param>
    /// <param name="a">The product's weight.</param>
    /// <param name="workspace">The pass's scratch, where a·β and c are written for the last stage too.</param>
    public ProductPass(IDeviceStream stream, CompressedParts compressed, ProductPlan plan, bool buildsPlan,
        ulong gradient, int gradientColumns, DType gradientType, ProductOutput output, float a, ProductWorkspace workspace)
    {
        _stream = stream;
        Compressed = compressed;
        _plan = plan;
        BuildsPlan = buildsPlan;
        _gradient = gradient;
        GradientColumns = gradientColumns;
        _gradientType = gradientType;
        Output = output;
        _a = a;
        _workspace = workspace;
    }

    /// <summary>What the pass reads.</summary>
    public CompressedParts Compressed { get; }

    /// <summary>Whether <see cref="Run"/> builds the plan (the compression's first product) or reuses it.</summary>
    public bool BuildsPlan { get; }

    /// <summary>m.</summary>
    public int GradientColumns { get; }

    /// <summary>Where the product goes.</summary>
    public ProductOutput Output { get; }

    /// <summary>16-bit generators, widened to float32 (once per compression, in the plan) for the last stage.</summary>
    public bool WidensGenerators => Plan.WidensGenerators;

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

    /// <summary>The plan's stages: the grouping and, for 16-bit generators, their float32 copy.</summary>
    public void BuildPlan() => Plan.Run();

    /// <summary>The plan's grouping stage (<see cref="PlanPass.GroupRows"/>).</summary>
    public void GroupRows() => Plan.GroupRows();

    /// <summary>The plan's widening stage (<see cref="PlanPass.WidenGenerators"/>).</summary>
    /// <exception cref="InvalidOperationException">The generators are float32 already.</exception>
    public void WidenGenerators() => Plan.WidenGenerators();

    /// <summary>First reduction pass: per-(chunk, generator) partial sums of α_i G_i.</summary>
    public void ReduceChunks() =>
        PammKernels.ReduceChunks(_stream, _gradientType, Compressed.AlphaType, _plan.SortedKeys, _plan.SortedRows, Compressed.Rows, Compressed.Alpha, _gradient,
            GradientColumns, _workspace.Partials);

    /// <summary>Second reduction pass: B̃ (k × m float32) from the partial sums, and a·β and c for the last stage (β from η on the device).</summary>
    public void ReduceGroups() =>
        PammKernels.ReduceGroups(_stream, _plan.SortedKeys, Compressed.Rows, _workspace.Partials, GradientColumns, Compressed.K,
            _workspace.Reduced, Compressed.Dropped, _a, Output.C, _workspace.Scalars.Address);

    /// <summary>
    /// The last stage, <c>output = round(a·β·Cᵀ B̃ + c·output)</c> in the output's layout and dtype, in one launch
    /// (<c>pamm_expand</c>): B̃ and C (float32, widened by the plan when 16-bit) are small, the output is written once.
    /// </summary>
    public void Expand()
    {
        ulong generators = WidensGenerators ? _plan.WideGenerators : Compressed.Generators;
        // n × m = Cᵀ B̃: C's columns are the output's rows; m × n = B̃ᵀ C.
        var (left, leftColumns, right, rightColumns) = Output.Layout == ProductLayout.InputByGradient
            ? (generators, Compressed.Columns, _workspace.Reduced, GradientColumns)
            : (_workspace.Reduced, GradientColumns, generators, Compressed.Columns);
        PammKernels.Expand(_stream, left, right, Compressed.K, leftColumns, rightColumns, _workspace.Scalars.Address, Output.OutputType,
            Output.Output);
    }
}
