using PammCuda.Devices;

namespace PammCuda.Engine;

/// <summary>The engine's reusable scratch, one grow-only buffer per role (none of it outlives a call's work).</summary>
internal sealed class EngineScratch : IDisposable
{
    public EngineScratch(IComputeDevice device, IDeviceStream stream)
    {
        Sampling = new(device, stream);
        GeneratorRows = new(device, stream);
        RowToGenerator = new(device, stream);
        GeneratorSquaredNorms = new(device, stream);
        RowSquaredNorms = new(device, stream);
        Similarities = new(device, stream);
        SortKeys = [new(device, stream), new(device, stream)];
        SortRows = [new(device, stream), new(device, stream)];
        Histogram = new(device, stream);
        ReducePartials = new(device, stream);
        Reduced = new(device, stream);
        WideGenerators = new(device, stream);
        WideGradient = new(device, stream);
        Product = new(device, stream);
    }

    /// <summary>Keys, histogram, candidates and tile counts of the generator sampling (about 12·b bytes + 256 KiB).</summary>
    public GrowOnlyBuffer Sampling { get; }

    /// <summary>Sampled or per-call explicit generator rows (k ints) during a compression.</summary>
    public GrowOnlyBuffer GeneratorRows { get; }

    /// <summary>Row → generator position or -1 (b ints) during a compression.</summary>
    public GrowOnlyBuffer RowToGenerator { get; }

    /// <summary>‖C_j‖² (k floats) during a compression.</summary>
    public GrowOnlyBuffer GeneratorSquaredNorms { get; }

    /// <summary>‖X_i‖² (b floats) during a compression with ε &lt; 1.</summary>
    public GrowOnlyBuffer RowSquaredNorms { get; }

    /// <summary>One chunk of the similarity matrix S (rows × k floats).</summary>
    public GrowOnlyBuffer Similarities { get; }

    /// <summary>Ping-pong key buffers of the radix sort (b ints each).</summary>
    public GrowOnlyBuffer[] SortKeys { get; }

    /// <summary>Ping-pong row buffers of the radix sort (b ints each).</summary>
    public GrowOnlyBuffer[] SortRows { get; }

    /// <summary>Digit counts of a radix pass (at most 256 × tiles).</summary>
    public GrowOnlyBuffer Histogram { get; }

    /// <summary>Per-(chunk, generator) partial sums of the first reduction pass ((chunks + k − 1) × m floats).</summary>
    public GrowOnlyBuffer ReducePartials { get; }

    /// <summary>B̃ (k × m floats).</summary>
    public GrowOnlyBuffer Reduced { get; }

    /// <summary>A 16-bit first GEMM operand widened to float32 (C, or X of an exact product).</summary>
    public GrowOnlyBuffer WideGenerators { get; }

    /// <summary>A 16-bit gradient widened to float32 (exact products with mixed operand types).</summary>
    public GrowOnlyBuffer WideGradient { get; }

    /// <summary>A float32 product before it is rounded into a 16-bit output.</summary>
    public GrowOnlyBuffer Product { get; }

    public void Dispose()
    {
        Sampling.Dispose();
        GeneratorRows.Dispose();
        RowToGenerator.Dispose();
        GeneratorSquaredNorms.Dispose();
        RowSquaredNorms.Dispose();
        Similarities.Dispose();
        foreach (var buffer in SortKeys) buffer.Dispose();
        foreach (var buffer in SortRows) buffer.Dispose();
        Histogram.Dispose();
        ReducePartials.Dispose();
        Reduced.Dispose();
        WideGenerators.Dispose();
        WideGradient.Dispose();
        Product.Dispose();
    }
}
