namespace PammCuda.Cli;

/// <summary>A dense row-major matrix in host memory, of any element type PAMM accepts.</summary>
internal abstract class HostMatrix
{
    protected HostMatrix(int rows, int columns, DType dtype)
    {
        Rows = rows;
        Columns = columns;
        DType = dtype;
    }

    public int Rows { get; }

    public int Columns { get; }

    public DType DType { get; }

    public string Describe() => $"{Rows} x {Columns} {DType.ShortName()}";
}

/// <summary>A dense row-major matrix whose elements are <typeparamref name="T"/>.</summary>
internal sealed class HostMatrix<T> : HostMatrix where T : unmanaged
{
    public HostMatrix(int rows, int columns, T[] data)
        : base(rows, columns, DTypes.Of<T>())
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentNullException.ThrowIfNull(data);
        if (data.LongLength != (long)rows * columns)
            throw new ArgumentException($"Expected {(long)rows * columns} elements for {rows} x {columns}, got {data.LongLength}.", nameof(data));
        Data = data;
    }

    public T[] Data { get; }

    /// <summary>This matrix with every element rounded (nearest-even) to <paramref name="dtype"/>; itself when it is <typeparamref name="T"/> already.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An element type PAMM does not take.</exception>
    public HostMatrix RoundedTo(DType dtype) => dtype switch
    {
        _ when dtype == DType => this,
        DType.Float32 => Converted<float>(),
        DType.Float16 => Converted<Half>(),
        DType.BFloat16 => Converted<BFloat16>(),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not an element type PAMM takes."),
    };

    private HostMatrix<TTarget> Converted<TTarget>() where TTarget : unmanaged =>
        new(Rows, Columns, Array.ConvertAll(Data, value => ElementConvert.FromSingle<TTarget>(ElementConvert.ToSingle(value))));
}
