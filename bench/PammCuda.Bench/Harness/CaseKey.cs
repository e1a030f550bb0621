namespace PammCuda.Bench.Harness;

/// <summary>
/// Identifies one benchmark case both from inside the benchmark (which knows its parameters and method) and from
/// BenchmarkDotNet's <c>BenchmarkCase</c> in the summary, so that what the benchmark records reaches the columns.
/// </summary>
/// <param name="Shape">The benchmark class and its parameter values.</param>
/// <param name="Method">The benchmark method's name.</param>
public readonly record struct CaseKey(ShapeKey Shape, string Method);

/// <summary>A benchmark class with one set of parameter values; baselines have no ratio (0) and a fixed dtype.</summary>
/// <param name="Benchmark">The benchmark class as declared: <c>typeof(...)</c>, not <c>GetType()</c>, which in-process toolchains subclass.</param>
/// <param name="Width">n = m.</param>
/// <param name="Rows">b.</param>
/// <param name="RatioDenominator">d of r = 1/d, or 0 for a baseline.</param>
/// <param name="DType">Element type of X, G and the output.</param>
public readonly record struct ShapeKey(Type Benchmark, int Width, int Rows, int RatioDenominator, DType DType);
