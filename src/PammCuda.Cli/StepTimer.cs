using System.Diagnostics;

namespace PammCuda.Cli;

/// <summary>Times a synchronous step (one that has finished its work when it returns).</summary>
internal static class StepTimer
{
    public static TimeSpan Fastest(int repeat, Action step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        TimeSpan fastest = TimeSpan.MaxValue;
        for (int i = 0; i < repeat; i++)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed < fastest) fastest = elapsed;
        }
        return fastest;
    }
}
