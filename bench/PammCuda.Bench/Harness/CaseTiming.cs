using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Mathematics;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace PammCuda.Bench.Harness;

/// <summary>
/// Times of a case for the columns. Device times are recorded once per invocation, in order, through every
/// stage BenchmarkDotNet runs (jitting, pilot, warm-up, actual); the actual stage is the last that calls the
/// benchmark, so its invocations are the last Σ operations of the recorded list. Each actual iteration's device
/// time is the mean of its invocations, and BenchmarkDotNet's statistics run over those iterations.
/// </summary>
public static class CaseTiming
{
    /// <summary>Statistics (in nanoseconds per invocation) of the device time of the actual iterations, or null when none was recorded.</summary>
    public static Statistics? DeviceStatistics(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(measured);
        var report = summary[benchmarkCase];
        var samples = CaseRecords.RecordedDeviceTimes(measured.Key);
        if (report is null || samples is null)
            return null;
        var iterations = report.AllMeasurements
            .Where(m => m.IterationMode == IterationMode.Workload && m.IterationStage == IterationStage.Actual)
            .ToList();
        long invocations = iterations.Sum(m => m.Operations);
        if (iterations.Count == 0 || samples.Count < invocations)
            return null;
        var perIteration = new List<double>(iterations.Count);
        int next = samples.Count - (int)invocations;
        foreach (var iteration in iterations)
        {
            double sum = 0;
            for (long i = 0; i < iteration.Operations; i++)
                sum += samples[next++];
            perIteration.Add(sum / iteration.Operations * 1e6);
        }
        return new Statistics(perIteration);
    }

    /// <summary>Mean nanoseconds per invocation on <paramref name="basis"/>, or null when the case did not run.</summary>
    public static double? MeanNanoseconds(Summary summary, BenchmarkCase benchmarkCase, MeasuredCase measured, TimeBasis basis)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return basis == TimeBasis.DeviceEvents
            ? DeviceStatistics(summary, benchmarkCase, measured)?.Mean
            : summary[benchmarkCase]?.ResultStatistics?.Mean;
    }
}
