using System.Runtime.Intrinsics.X86;
using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Cpu;

/// <summary>The <c>cpu</c> suite: the CPU backend against OpenBLAS and memory copies, timed by BenchmarkDotNet's wall clock.</summary>
public static class CpuSuite
{
    /// <summary>Runs the suite and writes <c>&lt;date&gt;-cpu-&lt;processor&gt;.md</c>; returns the exit code.</summary>
    public static int Run(BenchCommandLine commandLine, string resultsDirectory)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var header = ResultsFile.CommonHeader("PammCuda CPU backend benchmarks", commandLine).ToList();
        string processor = ProcessorName();
        header.Add($"- processor: {processor}");
        var excluded = new List<string>();
        if (OpenBlas.Shared is { } blas)
        {
            header.Add($"- OpenBLAS: {blas.Configuration}, {blas.Threads} threads");
            if (blas.SlowKernelsWarning(Avx2.IsSupported && Fma.IsSupported) is { } warning)
            {
                Console.WriteLine(warning);
                header.Add($"- **{warning}**");
            }
        }
        else
        {
            string skip = $"OpenBLAS baseline skipped: {OpenBlas.UnavailableReason}";
            Console.WriteLine(skip);
            header.Add($"- **{skip}**");
            excluded.Add(nameof(CpuBaselineBenchmarks.OpenBlasSgemm));
        }
        // Wall-clock times on a small shared machine are only as good as its idleness, so the results say how busy it was.
        if (LoadAverage() is { } load) header.Add($"- load average when the suite started (1, 5, 15 min, /proc/loadavg): {load}");
        header.Add("- timing: BenchmarkDotNet's wall clock per invocation; GB/s, % of copy and speedup use its mean");
        header.Add("- speedup reference: OpenBLAS sgemm for float32; the CPU backend's exact product for bfloat16 (Debian's OpenBLAS has no bf16 GEMM)");
        var config = BenchConfig.Create(commandLine.Quick, TimeBasis.Wall, Path.Combine(resultsDirectory, "BenchmarkDotNet.Artifacts"), excluded);
        return SuiteRun.Run(commandLine, resultsDirectory, "cpu", processor, header,
            [typeof(CpuPammBenchmarks), typeof(CpuBaselineBenchmarks)], config);
    }

    private static string? LoadAverage()
    {
        const string loadAverage = "/proc/loadavg";
        return File.Exists(loadAverage) ? string.Join(", ", File.ReadAllText(loadAverage).Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3)) : null;
    }

    private static string ProcessorName()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (File.Exists(cpuInfo))
        {
            foreach (string line in File.ReadLines(cpuInfo))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is int colon and >= 0)
                    return line[(colon + 1)..].Trim();
            }
        }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
