namespace PammCuda.Bench.Harness;

/// <summary>Which time the derived columns (GB/s, share of copy bandwidth, speedup) are computed from.</summary>
public enum TimeBasis
{
    /// <summary>BenchmarkDotNet's own wall-clock mean per invocation (the CPU suite).</summary>
    Wall,

    /// <summary>Device time between events recorded before and after the work, per invocation (the GPU suite).</summary>
    DeviceEvents,
}
