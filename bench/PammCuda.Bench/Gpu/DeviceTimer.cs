using PammCuda.Devices;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// Times one invocation on the device: an event is recorded on the stream before the work and one after, the host
/// waits for the second, and the milliseconds between them are appended to the case's list. Waiting once per
/// invocation keeps the host from queuing ahead, so BenchmarkDotNet's wall time is the latency of one operation
/// and the device time is the stream's busy span for it (including any gap the operation leaves the device idle,
/// such as a host-side allocation inside it).
/// </summary>
public sealed class DeviceTimer(IDeviceStream stream)
{
    /// <summary>Times <paramref name="work"/>.</summary>
    public void Time(List<double> samples, Action work)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(work);
        using var start = stream.RecordEvent();
        work();
        using var end = stream.RecordEvent();
        end.Synchronize();
        samples.Add(end.ElapsedMillisecondsSince(start));
    }

    /// <summary>Times <paramref name="work"/>, then disposes what it made (a compressed form, a buffer) once its end has been recorded, outside the timed span.</summary>
    public void TimeAndDispose(List<double> samples, Func<IDisposable> work)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(work);
        IDisposable? made = null;
        try
        {
            Time(samples, () => made = work());
        }
        finally
        {
            made?.Dispose();
        }
    }
}
