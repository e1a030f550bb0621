using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace PammCuda.Bench.Harness;

/// <summary>Runs a suite's benchmark classes as one joined summary and writes the results file.</summary>
public static class SuiteRun
{
    /// <summary>Runs <paramref name="benchmarks"/>; returns 0 when every case ran, 1 otherwise.</summary>
    public static int Run(
        BenchCommandLine commandLine, string resultsDirectory, string suite, string device,
        IReadOnlyList<string> header, Type[] benchmarks, IConfig config)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        // BenchmarkDotNet's --filter takes its globs as the words after it.
        string[] arguments = commandLine.Filters.Count > 0
            ? [.. commandLine.BenchmarkDotNetArguments, "--filter", .. commandLine.Filters]
            : [.. commandLine.BenchmarkDotNetArguments];
        var summaries = BenchmarkRunner.Run(benchmarks, config, arguments);
        bool allRan = summaries.Length > 0;
        foreach (var summary in summaries)
        {
            string path = ResultsFile.Write(resultsDirectory, suite, device, header, summary);
            Console.WriteLine($"results written to {path}");
            allRan &= !summary.HasCriticalValidationErrors && summary.Reports.All(report => report.Success);
        }
        return allRan ? 0 : 1;
    }
}
