using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Columns;

/// <summary>Device time per invocation from CUDA events around the work: mean and standard deviation over the actual iterations.</summary>
public sealed class DeviceTimeColumn : CaseColumn
{
    private readonly bool _standardDeviation;

    private DeviceTimeColumn(bool standardDeviation)
        : base(
            standardDeviation ? "Device σ" : "Device time",
            standardDeviation
                ? "Standard deviation of Device time over the actual iterations"
                : "Device time per invocation: events recorded on the stream before and after the work (divided by the invocations queued between them, --queue), mean over the actual iterations",
            standardDeviation ? 1 : 0)
        => _standardDeviation = standardDeviation;

    /// <summary>The mean column.</summary>
    public static DeviceTimeColumn Mean { get; } = new(standardDeviation: false);

    /// <summary>The standard-deviation column.</summary>
    public static DeviceTimeColumn StandardDeviation { get; } = new(standardDeviation: true);

    /// <inheritdoc/>
    protected override string? Value(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured) =>
        CaseTiming.DeviceStatistics(summary, benchmarkCase, measured) is { } statistics
            ? Durations.Format(_standardDeviation ? statistics.StandardDeviation : statistics.Mean)
            : null;
}
