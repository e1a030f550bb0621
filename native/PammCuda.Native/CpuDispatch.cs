using PammCuda.Cpu;

namespace PammCuda.Native;

/// <summary>
/// Turns host pointers and runtime dtypes into calls of the generic CPU backend: one switch per dtype,
/// so every (X, G, output) combination is compiled ahead of time.
/// </summary>
internal static unsafe class CpuDispatch
{
    public static ICompressedActivation Compress(void* x, int rows, int columns, DType dtype, PammOptions options)
    {
        int count = NativeArguments.HostElementCount(rows, columns, "rows", "cols");
        return dtype switch
        {
            DType.Float32 => CpuPamm.Compress(new ReadOnlySpan<float>(x, count), rows, columns, options),
            DType.Float16 => CpuPamm.Compress(new ReadOnlySpan<Half>(x, count), rows, columns, options),
            DType.BFloat16 => CpuPamm.Compress(new ReadOnlySpan<BFloat16>(x, count), rows, columns, options),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
        };
    }

    /// <summary>Compresses into the caller's host storage (checked by the caller to hold the layout's bytes).</summary>
    public static ICompressedActivation CompressInto(void* x, int rows, int columns, DType dtype, PammOptions options, byte* storage,
        in CompressedStorageLayout layout)
    {
        int count = NativeArguments.HostElementCount(rows, columns, "rows", "cols");
        var target = new Span<byte>(storage, checked((int)layout.TotalBytes));
        _ = dtype switch
        {
            DType.Float32 => (ICompressedActivation)CpuPamm.CompressInto(new ReadOnlySpan<float>(x, count), rows, columns, options, target),
            DType.Float16 => CpuPamm.CompressInto(new ReadOnlySpan<Half>(x, count), rows, columns, options, target),
            DType.BFloat16 => CpuPamm.CompressInto(new ReadOnlySpan<BFloat16>(x, count), rows, columns, options, target),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
        };
        return new HostStoredActivation(storage, layout);
    }

    public static void ApproxMatmul(ICompressedActivation compressed, in HostProduct product)
    {
        switch (compressed)
        {
            case HostStoredActivation stored: ApproxMatmul(stored.ReadActivation(), product); break;
            case CpuCompressedActivation<float> c: ApproxWithGradient(c, product); break;
            case CpuCompressedActivation<Half> c: ApproxWithGradient(c, product); break;
            case CpuCompressedActivation<BFloat16> c: ApproxWithGradient(c, product); break;
            default: throw new InvalidHandleException($"compressed holds a {compressed.GetType().Name}, not an activation of the CPU backend.");
        }
    }

    public static void ExactMatmul(void* x, int rows, int columns, DType xType, in HostProduct product)
    {
        switch (xType)
        {
            case DType.Float32: ExactWithGradient<float>(x, rows, columns, product); break;
            case DType.Float16: ExactWithGradient<Half>(x, rows, columns, product); break;
            case DType.BFloat16: ExactWithGradient<BFloat16>(x, rows, columns, product); break;
            default: throw new ArgumentOutOfRangeException(nameof(xType), xType, "Unknown dtype.");
        }
    }

    private static void ApproxWithGradient<T>(CpuCompressedActivation<T> compressed, in HostProduct product) where T : unmanaged
    {
        switch (product.GradientType)
        {
            case DType.Float32: ApproxWithOutput<T, float>(compressed, product); break;
            case DType.Float16: ApproxWithOutput<T, Half>(compressed, product); break;
            case DType.BFloat16: ApproxWithOutput<T, BFloat16>(compressed, product); break;
            default: throw new ArgumentOutOfRangeException("grad_dtype", product.GradientType, "Unknown dtype.");
        }
    }

    private static void ApproxWithOutput<T, TG>(CpuCompressedActivation<T> compressed, in HostProduct product)
        where T : unmanaged where TG : unmanaged
    {
        ReadOnlySpan<TG> g = product.Gradient<TG>(compressed.Rows);
        int m = product.GradientColumns, n = compressed.Columns;
        switch (product.OutputType)
        {
            case DType.Float32: CpuPamm.ApproxMatmul(compressed, g, m, product.Output<float>(n), product.Layout, product.A, product.C); break;
            case DType.Float16: CpuPamm.ApproxMatmul(compressed, g, m, product.Output<Half>(n), product.Layout, product.A, product.C); break;
            case DType.BFloat16: CpuPamm.ApproxMatmul(compressed, g, m, product.Output<BFloat16>(n), product.Layout, product.A, product.C); break;
            default: throw new ArgumentOutOfRangeException("out_dtype", product.OutputType, "Unknown dtype.");
        }
    }

    private static void ExactWithGradient<T>(void* x, int rows, int columns, in HostProduct product) where T : unmanaged
    {
        switch (product.GradientType)
        {
            case DType.Float32: ExactWithOutput<T, float>(x, rows, columns, product); break;
            case DType.Float16: ExactWithOutput<T, Half>(x, rows, columns, product); break;
            case DType.BFloat16: ExactWithOutput<T, BFloat16>(x, rows, columns, product); break;
            default: throw new ArgumentOutOfRangeException("grad_dtype", product.GradientType, "Unknown dtype.");
        }
    }

    private static void ExactWithOutput<T, TG>(void* x, int rows, int columns, in HostProduct product)
        where T : unmanaged where TG : unmanaged
    {
        var input = new ReadOnlySpan<T>(x, NativeArguments.HostElementCount(rows, columns, "rows", "cols"));
        ReadOnlySpan<TG> g = product.Gradient<TG>(rows);
        int m = product.GradientColumns;
        switch (product.OutputType)
        {
            case DType.Float32: CpuPamm.ExactMatmul(input, rows, columns, g, m, product.Output<float>(columns), product.Layout, product.A, product.C); break;
            case DType.Float16: CpuPamm.ExactMatmul(input, rows, columns, g, m, product.Output<Half>(columns), product.Layout, product.A, product.C); break;
            case DType.BFloat16: CpuPamm.ExactMatmul(input, rows, columns, g, m, product.Output<BFloat16>(columns), product.Layout, product.A, product.C); break;
            default: throw new ArgumentOutOfRangeException("out_dtype", product.OutputType, "Unknown dtype.");
        }
    }
}
