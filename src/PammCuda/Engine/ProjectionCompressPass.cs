using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The forward projection of X and its compression from one GEMM (design §8): the generators C = X[S] are gathered as in
/// <see cref="CompressPass"/> and copied under the caller's stacked weight <c>[W_q; W_k; W_v]</c>, so that one GEMM of X
/// with <c>[W; C]</c> gives <c>[X Wᵀ | X Cᵀ]</c>; the projection columns go to the caller's outputs and the assignment
/// reads only the similarity columns. X is read by the gather (k rows) and the GEMM, never a second time in full
/// (unless ε &lt; 1, whose test needs ‖X_i‖²). One method per stage, as in <see cref="CompressPass"/>; every stage
/// rewrites all it writes, so any stage can be repeated (timed alone) once the whole pass has run.
/// </summary>
internal readonly struct ProjectionCompressPass
{
    private readonly IDeviceStream _stream;
    private readonly ulong _x;
    private readonly ulong _stackedWeight;
    private readonly ProjectionOutput[] _outputs;
    private readonly ProjectionWorkspace _workspace;

    /// <param name="stream">The stream every stage is queued on.</param>
    /// <param name="x">X, row-major <c>compressed.Rows</c> × <c>compressed.Columns</c> of <c>compressed.DType</c>.</param>
    /// <param name="stackedWeight">
    /// Row-major (m + k) × n of X's dtype: the first m rows hold W, the last k rows are
    /// overwritten with C.
    /// </param>
    /// <param name="outputs">
    /// The caller's outputs of X Wᵀ in column order, each row-major b × its columns of X's dtype; m, the rows of W
    /// (d_q + d_k + d_v), is the sum of their columns.
    /// </param>
    /// <param name="workspace">The pass's scratch.</param>
    /// <param name="compress">
    /// The compression pass over the parts where C, f, α and η go and over <c>workspace.Compress</c> (sampling, gather,
    /// row norms, assignment).
    /// </param>
    public ProjectionCompressPass(IDeviceStream stream, ulong x, ulong stackedWeight,
        ReadOnlySpan<ProjectionOutput> outputs, ProjectionWorkspace workspace, CompressPass compress)
    {
        _stream = stream;
        _x = x;
        _stackedWeight = stackedWeight;
        _outputs = outputs.ToArray();
        ProjectionColumns = ProjectionColumnsOf(outputs);
        _workspace = workspace;
        Compress = compress;
    }

    /// <summary>The compression stages this pass shares with <see cref="CompressPass"/>.</summary>
    public CompressPass Compress { get; }

    /// <summary>m.</summary>
    public int ProjectionColumns { get; }

    /// <summary>m of <paramref name="outputs"/>: the sum of their columns (checked against 32-bit overflow).</summary>
    public static int ProjectionColumnsOf(ReadOnlySpan<ProjectionOutput> outputs)
    {
        int sum = 0;
        foreach (var output in outputs) sum = checked(sum + output.Columns);
        return sum;
    }

    private CompressedParts Parts => Compress.Compressed;

    /// <summary>Floats between consecutive rows of the GEMM output: m + k.</summary>
    public long GemmOutputStride => (long)ProjectionColumns + Parts.K;

    /// <summary>Every stage, in order.</summary>
    public void Run()
    {
        if (Compress.SamplesGenerators) Compress.SampleGenerators();
        Compress.Gather();
        CopyGeneratorsIntoWeight();
        if (Compress.TestsNeighbourhood) Compress.RowSquaredNorms();
        ProjectionGemm();
        StoreProjection();
        Assign();
        if (Compress.RefinesGenerators) RefineGenerators();
    }

    /// <summary>C (as stored in the compressed form) into the last k rows of the stacked weight.</summary>
    public void CopyGeneratorsIntoWeight()
    {
        long rowBytes = (long)Parts.Columns * Parts.DType.SizeOf();
        _stream.CopyAsync(_stackedWeight + (ulong)(ProjectionColumns * rowBytes), Parts.Generators, Parts.K * rowBytes);
    }

    /// <summary>
    /// <c>[X Wᵀ | X Cᵀ]</c> (row-major b × (m + k), float32) in one GEMM with float32 accumulation and no TF32: S needs full
    /// float32 for the argmax and α, and the projection is then rounded once into the caller's dtype, as cuBLAS rounds a
    /// 16-bit output. Column-major that is (m + k) × b = <c>[W; C]</c>ᵀ(as stored, n × (m + k))ᵀ · X(n × b).
    /// </summary>
    public void ProjectionGemm()
    {
        int stride = checked((int)GemmOutputStride);
        _stream.Gemm(new GemmDescriptor(
            GemmOperation.Transpose, GemmOperation.None, stride, Parts.Rows, Parts.Columns,
            Compress.GemmConstants.One,
            _stackedWeight, Parts.DType, Parts.Columns,
            _x, Parts.DType, Parts.Columns,
            Compress.GemmConstants.Zero,
            _workspace.Projection, DType.Float32, stride));
    }

    /// <summary>
    /// The m projection columns of the GEMM output into the caller's outputs, each its column range as a dense matrix of
    /// X's dtype: one launch an output, which together read and write what one launch over all m columns would.
    /// </summary>
    public void StoreProjection()
    {
        long firstColumn = 0;
        foreach (var output in _outputs)
        {
            PammKernels.StoreColumns(_stream, Parts.DType, _workspace.Projection + (ulong)(firstColumn * sizeof(float)), GemmOutputStride,
                Parts.Rows, output.Columns, output.Address);
            firstColumn += output.Columns;
        }
    }

    /// <summary>f, α, the ε test and η from the k similarity columns of the GEMM output.</summary>
    public void Assign() =>
        Compress.AssignAllRows(_workspace.Projection + (ulong)ProjectionColumns * sizeof(float), GemmOutputStride);

    /// <summary>
    /// Generator refinement (<see cref="CompressPass.RefineGenerators(ulong, int)"/>) with the dense assignment of all rows in
    /// the GEMM output, which the store and the assignment have read by then: k × b elements of X's dtype fit in its
    /// b × (m + k) floats.
    /// </summary>
    public void RefineGenerators() => Compress.RefineGenerators(_workspace.Projection, Parts.Rows);
}
