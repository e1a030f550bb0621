using BenchmarkDotNet.Attributes;

namespace PammCuda.Bench.Harness;

/// <summary>
/// The shape parameters of a benchmark class, n and b, with their values from <paramref name="shapes"/>. BenchmarkDotNet
/// reads the values from an instance it creates itself, after the program has set <see cref="ShapeSets.Quick"/> and
/// <see cref="ShapeSets.Emulated"/>. The priorities put n and b before a derived class's parameters in result tables.
/// </summary>
/// <param name="shapes">The values the derived class runs.</param>
public abstract class ShapedBenchmarks(ShapeSet shapes)
{
    /// <summary>n = m: columns of X, and of G where the class has one.</summary>
    [ParamsSource(nameof(Widths), Priority = -2)]
    public int Width { get; set; }

    /// <summary>b.</summary>
    [ParamsSource(nameof(RowCounts), Priority = -1)]
    public int Rows { get; set; }

    /// <summary>Values of <see cref="Width"/>.</summary>
    public IEnumerable<int> Widths => shapes.Widths;

    /// <summary>Values of <see cref="Rows"/>.</summary>
    public IEnumerable<int> RowCounts => shapes.Rows;

    /// <summary>The values the derived class runs.</summary>
    protected ShapeSet Shapes => shapes;
}
