using PammCuda.Devices;

namespace PammCuda.Cli;

/// <summary>
/// Times work queued on a device stream by events recorded before and after it: device time, which
/// excludes the host's queuing and the wait for the result.
/// </summary>
internal static class DeviceStepTimer
{
    public static TimeSpan Fastest(IDeviceStream stream, int repeat, Action step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        TimeSpan fastest = TimeSpan.MaxValue;
        for (int i = 0; i < repeat; i++)
        {
            TimeSpan elapsed = Time(stream, step);
            if (elapsed < fastest) fastest = elapsed;
        }
        return fastest;
    }

    /// <summary>Queues <paramref name="step"/> between two events and waits for the second.</summary>
    public static TimeSpan Time(IDeviceStream stream, Action step)
    {
        using IDeviceEvent start = stream.RecordEvent();
        step();
        using IDeviceEvent end = stream.RecordEvent();
        end.Synchronize();
        return TimeSpan.FromMilliseconds(end.ElapsedMillisecondsSince(start));
    }
}
