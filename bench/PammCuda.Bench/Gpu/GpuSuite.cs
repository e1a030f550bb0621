using PammCuda.Bench.Harness;

namespace PammCuda.Bench.Gpu;

/// <summary>The <c>gpu</c> suite: the engine against cuBLAS and device copies, timed with device events.</summary>
public static class GpuSuite
{
    /// <summary>
    /// Runs the suite and writes <c>&lt;date&gt;-gpu-&lt;device&gt;.md</c>; without a usable device prints
    /// "no GPU: reason", measures nothing and returns 0. Returns 1 when a case failed.
    /// </summary>
    public static int Run(BenchCommandLine commandLine, string resultsDirectory)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var (device, description, unavailable) = GpuDeviceOpening.Open(commandLine.Device);
        if (device is null)
        {
            Console.WriteLine($"no GPU: {unavailable}");
            return 0;
        }
        using (device)
        {
            bool emulated = device.IsEmulated;
            if (emulated)
                Console.WriteLine($"WARNING: {device.Name} is the EMULATED device; its times say nothing about GPUs.");
            ShapeSets.Emulated = emulated;
            var header = ResultsFile.CommonHeader(
                emulated ? "PammCuda GPU suite on the EMULATED device (not GPU numbers)" : "PammCuda GPU benchmarks", commandLine).ToList();
            header.AddRange(description);
            header.Add(commandLine.Queue == 1
                ? "- timing: per invocation, device events recorded on the benchmark stream before and after the work, the host waiting " +
                  "for the second; Device time/σ are the mean/standard deviation over BenchmarkDotNet's actual iterations (warm-up and pilot excluded) " +
                  "of each iteration's mean event time. Mean/Error/StdDev are BenchmarkDotNet's wall time of the same invocations (launch + wait). " +
                  "GB/s, % of copy and speedup use Device time. A span with one operation counts the host's gaps between its launches too; " +
                  "--queue N times the device's own cost."
                : $"- timing: --queue {commandLine.Queue}: {commandLine.Queue} invocations queued back to back between two device events on the " +
                  "benchmark stream, the host waiting only for the second, so the host's launch gaps hide behind the work queued before them (as when " +
                  $"a training loop runs ahead of the device); Device time/σ are the span / {commandLine.Queue}, mean/standard deviation over " +
                  "BenchmarkDotNet's actual iterations. Mean/Error/StdDev are BenchmarkDotNet's wall time of a whole span of " +
                  $"{commandLine.Queue} operations. GB/s, % of copy and speedup use Device time.");
            header.Add("- speedup reference: cuBLAS strict fp32 SGEMM for float32 (TF32 shown beside it), bf16 GemmEx for bfloat16; outputs in the input type");
            header.Add("- stages: GpuStageBenchmarks times each stage of the engine's pipeline alone (the engine's CompressPass and " +
                "ProductPass stage methods, on inputs the whole pipeline left in place); GB/s counts each stage's inputs and outputs once (StageTraffic)");
            header.Add("- sampling paths: GpuSamplingBenchmarks times both generator-sampling paths at the same b up to the one-block bound " +
                $"(OneBlock: one launch of one block, the engine's path up to {Engine.PammKernels.SampleBlockRows} rows; MultiBlock: a fill and three launches, its path above); n = 0, " +
                "since n does not enter sampling");
            header.Add("- compression in the forward GEMM: GpuProjectionBenchmarks times the plain Q/K/V GEMM (X·[W_q; W_k; W_v]ᵀ, output in X's type) " +
                "against PammEngine.ProjectAndCompressInto (QkvGemmWithCompression: one GEMM with [W; C], float32 output staged, Q, K and V stored, " +
                "sampling, gather, assignment), the plain GEMM then Compress (QkvGemmThenCompress, PammQKV's default), the two side by side on two " +
                "streams (QkvGemmBesideCompress: Compress forked onto a second stream before the GEMM, joined after it; ...HighPriority: that stream " +
                "of the highest priority, as PammQKV(overlap_compression=True) makes it) and the bare GEMM with [W; C] " +
                "in X's type (QkvAndSimilarityGemm, the floor of any fused design); 'compression cost' is each one's extra time in % of QkvGemm");
            GpuSession.Open(device, commandLine.Queue);
            try
            {
                var config = BenchConfig.Create(commandLine.Quick, TimeBasis.DeviceEvents,
                    Path.Combine(resultsDirectory, "BenchmarkDotNet.Artifacts"), []);
                return SuiteRun.Run(commandLine, resultsDirectory, "gpu", emulated ? "emulated-not-a-gpu" : device.Name, header,
                    [typeof(GpuPammBenchmarks), typeof(GpuBaselineBenchmarks),
                        typeof(GpuStageBenchmarks), typeof(GpuProjectionBenchmarks),
                        typeof(GpuSamplingBenchmarks)], config);
            }
            finally
            {
                GpuSession.Close();
            }
        }
    }
}
