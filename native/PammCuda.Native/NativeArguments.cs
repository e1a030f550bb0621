using PammCuda.Engine;

namespace PammCuda.Native;

/// <summary>Checks of raw C arguments; every failure names the C parameter.</summary>
internal static unsafe class NativeArguments
{
    public static void NotNull(void* pointer, string name)
    {
        if (pointer is null) throw new ArgumentNullException(name, $"{name} is NULL.");
    }

    public static void NotNull(nint pointer, string name)
    {
        if (pointer == 0) throw new ArgumentNullException(name, $"{name} is NULL.");
    }

    /// <summary>A batch's product count: 1 to <c>PAMM_MAX_BATCHED_PRODUCTS</c>.</summary>
    public static void BatchCount(int count)
    {
        if (count < 1 || count > PammEngine.MaxBatchedProducts)
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"count must be between 1 and {PammEngine.MaxBatchedProducts} (PAMM_MAX_BATCHED_PRODUCTS).");
    }

    public static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
    }

    /// <summary>The <see cref="DType"/> of a <c>pamm_dtype</c> value.</summary>
    public static DType ToDType(int value, string name) => value switch
    {
        0 => DType.Float32,
        1 => DType.Float16,
        2 => DType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(name, value, $"{name} = {value} is not a pamm_dtype (PAMM_FLOAT32 = 0, PAMM_FLOAT16 = 1, PAMM_BFLOAT16 = 2)."),
    };

    /// <summary>The <c>pamm_dtype</c> value of a <see cref="DType"/>.</summary>
    public static int ToCode(DType dtype) => dtype switch
    {
        DType.Float32 => 0,
        DType.Float16 => 1,
        DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>The <see cref="ProductLayout"/> of a <c>pamm_layout</c> value.</summary>
    public static ProductLayout ToLayout(int value, string name) => value switch
    {
        0 => ProductLayout.InputByGradient,
        1 => ProductLayout.GradientByInput,
        _ => throw new ArgumentOutOfRangeException(name, value, $"{name} = {value} is not a pamm_layout (PAMM_INPUT_BY_GRADIENT = 0, PAMM_GRADIENT_BY_INPUT = 1)."),
    };

    /// <summary>rows × columns as a host span length: the CPU backend indexes with <see cref="int"/>.</summary>
    public static int HostElementCount(int rows, int columns, string rowsName, string columnsName)
    {
        Positive(rows, rowsName);
        Positive(columns, columnsName);
        long count = (long)rows * columns;
        if (count > Array.MaxLength)
            throw new ArgumentOutOfRangeException(columnsName, columns, $"{rowsName} × {columnsName} = {count} elements is more than the CPU backend handles ({Array.MaxLength}).");
        return (int)count;
    }
}
