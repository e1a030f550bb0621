using System.Runtime.CompilerServices;
using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>
/// The products one <see cref="ProductPass"/> computes from one compression, at most <see cref="Capacity"/> (the kernels'
/// <c>PAMM_MAX_BATCHED_PRODUCTS</c>): each stage queues one launch for all of them, product z in grid.z. A single product is
/// a batch of one. Their scratch (partial sums, B̃) lies side by side in one workspace, each product's range padded to
/// <c>PAMM_BATCH_COLUMN_ALIGNMENT</c> columns before the next (<see cref="ScratchOffset"/>), as the kernels find it.
/// </summary>
internal readonly struct ProductBatch
{
    /// <summary>The most products of a batch: the kernels' parameter slots (<c>PAMM_MAX_BATCHED_PRODUCTS</c>).</summary>
    public const int Capacity = 3;

    private static readonly int ColumnAlignment = KernelSources.Constant("PAMM_BATCH_COLUMN_ALIGNMENT");

    private readonly Slots _products;

    private ProductBatch(Slots products, int count)
    {
        _products = products;
        Count = count;
    }

    /// <summary>How many products the batch holds (1 … <see cref="Capacity"/>).</summary>
    public int Count { get; }

    /// <summary>Product <paramref name="index"/>; an empty slot (0, 0, 0) past <see cref="Count"/>, as the kernels are passed it.</summary>
    public BatchedProduct this[int index] => _products[index];

    /// <summary>The widest product's columns: the grid spans them.</summary>
    public int MaxColumns
    {
        get
        {
            int widest = 0;
            for (int i = 0; i < Count; i++) widest = Math.Max(widest, _products[i].GradientColumns);
            return widest;
        }
    }

    /// <summary>The columns the batch's scratch spans: every product's, each but the last padded.</summary>
    public long ScratchColumns => ScratchOffset(Count - 1) + _products[Count - 1].GradientColumns;

    /// <summary>The column where product <paramref name="index"/>'s scratch starts (the kernels' <c>pamm_batch_offset</c>).</summary>
    public long ScratchOffset(int index)
    {
        Span<int> widths = stackalloc int[Capacity];
        for (int i = 0; i < index; i++) widths[i] = _products[i].GradientColumns;
        return PaddedSum(widths[..index]);
    }

    /// <summary>One product.</summary>
    public static ProductBatch One(ulong gradient, int gradientColumns, ulong output)
    {
        var slots = new Slots();
        slots[0] = new BatchedProduct(gradient, gradientColumns, output);
        return new ProductBatch(slots, 1);
    }

    /// <summary>The products of <paramref name="products"/> (1 … <see cref="Capacity"/> of them; the caller checked).</summary>
    public static ProductBatch Of(ReadOnlySpan<BatchedProduct> products)
    {
        if (products.Length is < 1 or > Capacity)
            throw new ArgumentOutOfRangeException(nameof(products), products.Length, $"A batch holds 1 to {Capacity} products.");
        var slots = new Slots();
        for (int i = 0; i < products.Length; i++) slots[i] = products[i];
        return new ProductBatch(slots, products.Length);
    }

    /// <summary>The columns a batch of these gradient widths spans in scratch (see <see cref="ScratchColumns"/>).</summary>
    public static long ScratchColumnsOf(ReadOnlySpan<int> gradientColumns) => PaddedSum(gradientColumns[..^1]) + gradientColumns[^1];

    /// <summary>The columns of these products' scratch ranges, each padded to the kernels' alignment.</summary>
    private static long PaddedSum(ReadOnlySpan<int> gradientColumns)
    {
        long columns = 0;
        foreach (int width in gradientColumns) columns += (width + (long)ColumnAlignment - 1) / ColumnAlignment * ColumnAlignment;
        return columns;
    }

    [InlineArray(Capacity)]
    private struct Slots
    {
        private BatchedProduct _first;
    }
}
