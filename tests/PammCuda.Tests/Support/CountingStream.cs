using PammCuda.Devices;

namespace PammCuda.Tests.Support;

/// <summary>
/// A stream that forwards everything to another stream of the same device and counts the calls that make the host wait
/// for the device (<see cref="Synchronize"/> and events' waits), so that a test can prove a path never waits, and the
/// kernels and GEMMs queued, so that a test can pin down what a path launches.
/// </summary>
internal sealed unsafe class CountingStream(IDeviceStream inner) : IDeviceStream
{
    private readonly List<string> _launches = [];
    private readonly List<Dim3> _grids = [];

    /// <summary>Host waits so far.</summary>
    public int Synchronizations { get; private set; }

    /// <summary>The kernels launched so far, by name, in order.</summary>
    public IReadOnlyList<string> Launches => _launches;

    /// <summary>The grid of each launch in <see cref="Launches"/>.</summary>
    public IReadOnlyList<Dim3> Grids => _grids;

    /// <summary>GEMMs queued so far.</summary>
    public int Gemms { get; private set; }

    /// <summary>Fills (memsets) queued so far.</summary>
    public int Fills { get; private set; }

    /// <summary>Forgets the launches, GEMMs and fills counted so far.</summary>
    public void ClearLaunches()
    {
        _launches.Clear();
        _grids.Clear();
        Gemms = 0;
        Fills = 0;
    }

    public IComputeDevice Device => inner.Device;

    public nint NativeHandle => inner.NativeHandle;

    public void CopyAsync(ulong destination, ulong source, long bytes) => inner.CopyAsync(destination, source, bytes);

    public void UploadAsync(ulong destination, void* source, long bytes) => inner.UploadAsync(destination, source, bytes);

    public void DownloadAsync(void* destination, ulong source, long bytes) => inner.DownloadAsync(destination, source, bytes);

    public void Fill32Async(ulong destination, uint value, long count)
    {
        Fills++;
        inner.Fill32Async(destination, value, count);
    }

    public void Fill8Async(ulong destination, byte value, long bytes)
    {
        Fills++;
        inner.Fill8Async(destination, value, bytes);
    }

    public void Launch(DeviceKernel kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, void** arguments)
    {
        _launches.Add(kernel.Name);
        _grids.Add(grid);
        inner.Launch(kernel, grid, block, dynamicSharedBytes, arguments);
    }

    public void Gemm(in GemmDescriptor gemm)
    {
        Gemms++;
        inner.Gemm(gemm);
    }

    public void Synchronize()
    {
        Synchronizations++;
        inner.Synchronize();
    }

    public IDeviceEvent RecordEvent() => inner.RecordEvent();

    public void WaitFor(IDeviceEvent recorded) => inner.WaitFor(recorded);

    /// <summary>Leaves the inner stream alone: it belongs to whoever made it.</summary>
    public void Dispose()
    {
    }
}
