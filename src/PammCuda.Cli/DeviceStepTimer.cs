using PammCuda.Devices;

namespace PammCuda.Cli;

/// <summary>
/// Times work queued on a device stream by events recorded before and after it: the device's time between the two
/// events, without the wait for the result. The host's work inside the step (queuing its launches, and on a first run
/// compiling or loading the kernels) is inside the span, since the stream is idle when the first event is recorded;
/// hence <c>--repeat</c>, which reports the fastest run.
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
