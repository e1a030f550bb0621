using BenchmarkDotNet.Attributes;

namespace PammCuda.Bench.Harness;

/// <summary>The parameters of a benchmark class that compresses X: n and b, r, and the element type.</summary>
/// <param name="shapes">The values the derived class runs.</param>
public abstract class CompressionBenchmarks(ShapeSet shapes) : ShapedBenchmarks(shapes)
{
    /// <summary>r.</summary>
    [ParamsSource(nameof(Ratios))]
    public GeneratorRatio Ratio { get; set; } = new(512);

    /// <summary>Element type of X, G and the output.</summary>
    [ParamsSource(nameof(DTypes))]
    public DType DType { get; set; }

    /// <summary>Values of <see cref="Ratio"/>.</summary>
    public IEnumerable<GeneratorRatio> Ratios => Shapes.Ratios;

    /// <summary>Values of <see cref="DType"/>.</summary>
    public IEnumerable<DType> DTypes => Shapes.DTypes;

    /// <summary>The case's shape, keyed by <paramref name="declared"/>, the benchmark class as declared.</summary>
    protected ShapeKey ShapeOf(Type declared) => new(declared, Width, Rows, Ratio.Denominator, DType);
}
