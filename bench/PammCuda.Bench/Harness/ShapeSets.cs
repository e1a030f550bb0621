namespace PammCuda.Bench.Harness;

/// <summary>
/// The parameter values the suites run. BenchmarkDotNet reads them through <c>[ParamsSource]</c> properties of the
/// benchmark classes, which it creates itself; the program sets <see cref="Quick"/> and <see cref="Emulated"/> before it
/// starts BenchmarkDotNet, which runs in this process.
/// </summary>
public static class ShapeSets
{
    /// <summary>Narrow every suite to a small subset (<c>--quick</c>).</summary>
    public static bool Quick { get; set; }

    /// <summary>The GPU suite runs on the emulated device: tiny shapes only, since it runs kernels on the CPU.</summary>
    public static bool Emulated { get; set; }

    /// <summary>Both dtypes the suites compare.</summary>
    public static IEnumerable<DType> DTypes => [DType.Float32, DType.BFloat16];

    /// <summary>
    /// The GPU suite's PAMM operations and baselines. Quick: the two widths issue 14's goals name at b = 16384, n = m = 768
    /// (where PAMM's fixed cost weighs most against cuBLAS) and 2048.
    /// </summary>
    public static ShapeSet Gpu => new(
        Emulated ? [64] : Quick ? [768, 2048] : [768, 2048, 4096],
        Emulated ? [1024] : Quick ? [16384] : [16384, 65536],
        Emulated ? [new(64)] : Quick ? [new(512)] : [new(64), new(512)],
        DTypes);

    /// <summary>
    /// The GPU suite's stages: n = m ∈ {768, 4096}, b ∈ {16384, 65536}, r = 1/512. Quick: the quick <see cref="Gpu"/>
    /// shape (n = m = 2048, b = 16384), so that the copy baseline of the same run gives each stage its "% of copy".
    /// </summary>
    public static ShapeSet Stages => new(
        Emulated ? [64] : Quick ? [2048] : [768, 4096],
        Emulated ? [1024] : Quick ? [16384] : [16384, 65536],
        Emulated ? [new(64)] : [new(512)],
        DTypes);

    /// <summary>
    /// The forward Q/K/V GEMM with and without the compression (issue 14's goal: at most 5 % slower at n ≥ 768): the
    /// <see cref="Gpu"/> widths, r = 1/512.
    /// </summary>
    public static ShapeSet Projection => new(
        Emulated ? [64] : Quick ? [768, 2048] : [768, 2048, 4096],
        Emulated ? [1024] : Quick ? [16384] : [16384, 65536],
        Emulated ? [new(64)] : [new(512)],
        DTypes);

    /// <summary>
    /// The GPU suite's sampling paths side by side: b up to the rows one block holds (16 384), r = 1/512, float32 (neither n
    /// nor the dtype enters sampling: n = 0).
    /// </summary>
    public static ShapeSet Sampling => new(
        [0],
        Emulated ? [1024] : Quick ? [8192, 16384] : [1024, 4096, 8192, 16384],
        [new(512)],
        [DType.Float32]);

    /// <summary>The CPU suite.</summary>
    public static ShapeSet Cpu => new(
        Quick ? [256] : [256, 768],
        Quick ? [4096] : [4096, 16384],
        Quick ? [new(512)] : [new(64), new(512)],
        DTypes);
}
