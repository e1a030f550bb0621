using PammCuda.Devices;

namespace PammCuda.Bench.Gpu;

/// <summary>
/// Times invocations on the device: an event is recorded on the stream before the work and one after, the host waits
/// for the second, and the milliseconds between them, divided by the invocations queued between them, are appended to
/// the case's list.
/// With one invocation a span (the default), waiting once per invocation keeps the host from queuing ahead, so
/// BenchmarkDotNet's wall time is the latency of one operation and the device time is the stream's busy span for it,
/// including every gap the operation leaves the device idle: the host's own time between its launches, or a host-side
/// allocation inside it. With <paramref name="queued"/> invocations a span, queued back to back without a wait, those
/// gaps hide behind the work queued before them, as in a training loop whose host runs ahead of the device: the device
/// time is then the device's own cost of one operation, and the difference between the two runs is the host's.
/// </summary>
/// <param name="stream">The stream the work is queued on.</param>
/// <param name="queued">Invocations between the two events of one timed span, at least 1.</param>
public sealed class DeviceTimer(IDeviceStream stream, int queued = 1)
{
    private readonly int _queued = queued >= 1 ? queued : throw new ArgumentOutOfRangeException(nameof(queued), queued, "At least one invocation a span.");

    /// <summary>Times <paramref name="work"/>, queued <c>queued</c> times in one span.</summary>
    public void Time(List<double> samples, Action work)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(work);
        using var start = stream.RecordEvent();
        for (int i = 0; i < _queued; i++) work();
        using var end = stream.RecordEvent();
        end.Synchronize();
        samples.Add(end.ElapsedMillisecondsSince(start) / _queued);
    }

    /// <summary>
    /// Times <paramref name="work"/>, then disposes what each invocation made (a compressed form, a buffer) once the span's
    /// end has been recorded, outside the timed span.
    /// </summary>
    public void TimeAndDispose(List<double> samples, Func<IDisposable> work)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(work);
        var made = new List<IDisposable>(_queued);
        try
        {
            Time(samples, () => made.Add(work()));
        }
        finally
        {
            foreach (var item in made) item.Dispose();
        }
    }
}
