namespace PammCuda.Cli;

/// <summary>
/// What one PAMM run produced: the compressed form (for its sizes, k, η and β), the approximate and
/// exact products in float32 (same layout), and the fastest time of each step.
/// </summary>
internal sealed record PammMeasurement(
    ICompressedActivation Compressed,
    float[] Approximate,
    float[] Exact,
    TimeSpan CompressTime,
    TimeSpan ApproximateTime,
    TimeSpan ExactTime);
