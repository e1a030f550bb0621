using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using PammCuda.Bench.Columns;

namespace PammCuda.Bench.Harness;

/// <summary>
/// The BenchmarkDotNet configuration of a suite. Benchmarks run in this process (InProcessEmitToolchain): no SDK is
/// needed where they run, only the runtime, and the benchmarks share the device and the records the columns read.
/// All classes of a suite go into one joined summary so that the columns find the exact GEMM and the copy beside
/// the PAMM operations.
/// </summary>
public static class BenchConfig
{
    /// <summary>Builds the configuration; <paramref name="excluded"/> lists benchmark methods not to run (a missing baseline library).</summary>
    public static IConfig Create(bool quick, TimeBasis basis, string artifactsDirectory, IReadOnlyCollection<string> excluded)
    {
        ArgumentNullException.ThrowIfNull(excluded);
        var job = (quick
                ? Job.Default.WithWarmupCount(1).WithIterationCount(3).WithIterationTime(TimeInterval.FromMilliseconds(100))
                : Job.Default.WithWarmupCount(3).WithIterationCount(10).WithIterationTime(TimeInterval.FromMilliseconds(100)))
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId(quick ? "InProcessQuick" : "InProcess");
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(Columns(basis))
            .AddLogger(ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub)
            .AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray())
            .AddValidator(DefaultConfig.Instance.GetValidators().ToArray())
            .WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared, MethodOrderPolicy.Declared))
            .WithArtifactsPath(artifactsDirectory)
            .WithOptions(ConfigOptions.JoinSummary);
        if (excluded.Count > 0)
            config = config.AddFilter(new SimpleFilter(benchmark => !excluded.Contains(benchmark.Descriptor.WorkloadMethod.Name)));
        return config;
    }

    private static IColumn[] Columns(TimeBasis basis)
    {
        IColumn[] derived =
        [
            new EffectiveBandwidthColumn(basis),
            new CopyShareColumn(basis),
            new SpeedupColumn(basis),
            new CompressionCostColumn(basis),
            CompressionColumn.StoredBytes,
            CompressionColumn.Ratio,
        ];
        return basis == TimeBasis.DeviceEvents
            ? [DeviceTimeColumn.Mean, DeviceTimeColumn.StandardDeviation, .. derived]
            : derived;
    }
}
