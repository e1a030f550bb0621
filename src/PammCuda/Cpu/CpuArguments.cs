namespace PammCuda.Cpu;

/// <summary>Shape checks shared by the CPU entry points; every failure names the argument at fault.</summary>
internal static class CpuArguments
{
    /// <summary>Throws <see cref="NotSupportedException"/> unless <typeparamref name="T"/> is float, Half or BFloat16.</summary>
    public static void CheckElementType<T>() where T : unmanaged => _ = DTypes.Of<T>();

    /// <summary>Checks a rows × columns row-major matrix: positive sizes, a non-empty span of exactly rows·columns elements.</summary>
    public static void CheckMatrix<T>(ReadOnlySpan<T> data, int rows, int columns, string dataName, string rowsName, string columnsName)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(rowsName, rows, "Must be at least 1.");
        if (columns < 1) throw new ArgumentOutOfRangeException(columnsName, columns, "Must be at least 1.");
        if (data.IsEmpty) throw new ArgumentException($"{dataName} is empty (or null).", dataName);
        long expected = (long)rows * columns;
        if (data.Length < expected)
            throw new ArgumentException($"{dataName} is too small: {data.Length} elements for {rowsName} × {columnsName} = {rows} × {columns} = {expected}.", dataName);
        if (data.Length > expected)
            throw new ArgumentException($"{dataName} is too large: {data.Length} elements for {rowsName} × {columnsName} = {rows} × {columns} = {expected}; is it of another shape?", dataName);
    }

    /// <summary>Checks that G has one row per compressed row: a gradient of another batch fails here.</summary>
    public static void CheckGradient<TG>(ReadOnlySpan<TG> gradient, int rows, int gradientColumns)
    {
        if (gradientColumns < 1) throw new ArgumentOutOfRangeException(nameof(gradientColumns), gradientColumns, "Must be at least 1.");
        if (gradient.IsEmpty) throw new ArgumentException("gradient is empty (or null).", nameof(gradient));
        long expected = (long)rows * gradientColumns;
        if (gradient.Length != expected)
            throw new ArgumentException(
                $"gradient has {gradient.Length} elements but must be {rows} rows (the compressed activation's) × {gradientColumns} columns = {expected}"
                + (gradient.Length < expected ? " (too small)." : " (too large)."), nameof(gradient));
    }

    /// <summary>Checks that the output holds the whole product; a larger span is allowed and only its start is written.</summary>
    public static void CheckOutput<TOut>(Span<TOut> output, long required)
    {
        if (output.Length < required)
            throw new ArgumentException($"output is too small: {output.Length} elements for a product of {required}.", nameof(output));
    }

    public static void CheckLayout(ProductLayout layout)
    {
        if (layout is not (ProductLayout.InputByGradient or ProductLayout.GradientByInput))
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown product layout.");
    }
}
