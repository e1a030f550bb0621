namespace PammCuda.Native;

/// <summary>The G side and the output of a host product, as the C caller gave them (pointers checked non-null).</summary>
internal readonly unsafe struct HostProduct
{
    private readonly void* _gradient;
    private readonly void* _output;

    public HostProduct(void* gradient, int gradientColumns, DType gradientType, void* output, DType outputType, ProductLayout layout, float a, float c)
    {
        NativeArguments.NotNull(gradient, "grad");
        NativeArguments.NotNull(output, "out");
        NativeArguments.Positive(gradientColumns, "grad_cols");
        _gradient = gradient;
        _output = output;
        GradientColumns = gradientColumns;
        GradientType = gradientType;
        OutputType = outputType;
        Layout = layout;
        A = a;
        C = c;
    }

    public int GradientColumns { get; }
    public DType GradientType { get; }
    public DType OutputType { get; }
    public ProductLayout Layout { get; }
    public float A { get; }
    public float C { get; }

    /// <summary>G as rows × grad_cols elements.</summary>
    public ReadOnlySpan<TG> Gradient<TG>(int rows) where TG : unmanaged =>
        new(_gradient, NativeArguments.HostElementCount(rows, GradientColumns, "rows", "grad_cols"));

    /// <summary>The output as cols × grad_cols elements (either layout has that many).</summary>
    public Span<TOut> Output<TOut>(int columns) where TOut : unmanaged =>
        new(_output, NativeArguments.HostElementCount(columns, GradientColumns, "cols", "grad_cols"));
}
