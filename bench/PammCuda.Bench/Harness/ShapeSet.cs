namespace PammCuda.Bench.Harness;

/// <summary>The parameter values one benchmark class runs (see <see cref="ShapeSets"/>).</summary>
/// <param name="Widths">n = m.</param>
/// <param name="Rows">b.</param>
/// <param name="Ratios">r; unused by classes without one (<see cref="ShapedBenchmarks"/>).</param>
/// <param name="DTypes">Element types; unused by classes without one (<see cref="ShapedBenchmarks"/>).</param>
public sealed record ShapeSet(IEnumerable<int> Widths, IEnumerable<int> Rows, IEnumerable<GeneratorRatio> Ratios, IEnumerable<DType> DTypes);
