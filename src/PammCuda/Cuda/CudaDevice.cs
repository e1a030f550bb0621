using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>A CUDA GPU and the attributes PAMM's launchers and reports need, read once from the driver.</summary>
public sealed unsafe class CudaDevice
{
    private CudaDevice(int ordinal)
    {
        int handle;
        CuDriver.cuDeviceGet(&handle, ordinal).ThrowIfFailed();
        Handle = handle;
        Ordinal = ordinal;

        byte* name = stackalloc byte[256];
        CuDriver.cuDeviceGetName(name, 256, handle).ThrowIfFailed();
        Name = StatusChecks.Utf8(name);
        nuint bytes;
        CuDriver.cuDeviceTotalMem_v2(&bytes, handle).ThrowIfFailed();
        TotalMemoryBytes = (long)bytes;

        ComputeCapability = new ComputeCapability(Attribute(CuDeviceAttribute.ComputeCapabilityMajor), Attribute(CuDeviceAttribute.ComputeCapabilityMinor));
        MultiprocessorCount = Attribute(CuDeviceAttribute.MultiprocessorCount);
        MemoryClockKilohertz = Attribute(CuDeviceAttribute.MemoryClockRate);
        MemoryBusWidthBits = Attribute(CuDeviceAttribute.GlobalMemoryBusWidth);
        L2CacheBytes = Attribute(CuDeviceAttribute.L2CacheSize);
        MaxThreadsPerBlock = Attribute(CuDeviceAttribute.MaxThreadsPerBlock);
        MaxSharedMemoryPerBlock = Attribute(CuDeviceAttribute.MaxSharedMemoryPerBlock);
        MaxSharedMemoryPerBlockOptIn = Attribute(CuDeviceAttribute.MaxSharedMemoryPerBlockOptin);
        MaxBlockDimensions = new Dim3((uint)Attribute(CuDeviceAttribute.MaxBlockDimX), (uint)Attribute(CuDeviceAttribute.MaxBlockDimY), (uint)Attribute(CuDeviceAttribute.MaxBlockDimZ));
        MaxGridDimensions = new Dim3((uint)Attribute(CuDeviceAttribute.MaxGridDimX), (uint)Attribute(CuDeviceAttribute.MaxGridDimY), (uint)Attribute(CuDeviceAttribute.MaxGridDimZ));
    }

    /// <summary>Number of CUDA devices.</summary>
    /// <exception cref="DeviceUnavailableException">CUDA cannot be used here (the message says why).</exception>
    public static int Count
    {
        get
        {
            CudaRuntime.EnsureAvailable();
            return CudaRuntime.CheckAvailability().DeviceCount;
        }
    }

    /// <summary>The device with the given ordinal.</summary>
    /// <exception cref="DeviceUnavailableException">CUDA cannot be used here.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ordinal"/> is not below <see cref="Count"/>.</exception>
    public static CudaDevice Get(int ordinal)
    {
        int count = Count;
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(ordinal, count);
        return new CudaDevice(ordinal);
    }

    /// <summary>Every device, by ordinal.</summary>
    /// <exception cref="DeviceUnavailableException">CUDA cannot be used here.</exception>
    public static IReadOnlyList<CudaDevice> All() => [.. Enumerable.Range(0, Count).Select(Get)];

    internal int Handle { get; }

    /// <summary>The ordinal the device was opened with.</summary>
    public int Ordinal { get; }

    /// <summary>The product name, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string Name { get; }

    /// <summary>The architecture version (9.0 for Hopper).</summary>
    public ComputeCapability ComputeCapability { get; }

    /// <summary>Number of streaming multiprocessors.</summary>
    public int MultiprocessorCount { get; }

    /// <summary>Bytes of device memory.</summary>
    public long TotalMemoryBytes { get; }

    /// <summary>Peak memory clock in kHz, as the driver reports it.</summary>
    public int MemoryClockKilohertz { get; }

    /// <summary>Width of the global memory bus in bits.</summary>
    public int MemoryBusWidthBits { get; }

    /// <summary>Theoretical peak memory bandwidth in bytes per second: clock × bus width × 2 (double data rate) / 8.</summary>
    public double PeakMemoryBandwidthBytesPerSecond => MemoryClockKilohertz * 1000.0 * MemoryBusWidthBits * 2 / 8;

    /// <summary>Bytes of L2 cache.</summary>
    public int L2CacheBytes { get; }

    /// <summary>Most threads in one block on this device.</summary>
    public int MaxThreadsPerBlock { get; }

    /// <summary>Shared memory a block gets without opting in (48 KiB on current GPUs).</summary>
    public int MaxSharedMemoryPerBlock { get; }

    /// <summary>Shared memory a block can get when the kernel opts in.</summary>
    public int MaxSharedMemoryPerBlockOptIn { get; }

    /// <summary>Largest block dimensions.</summary>
    public Dim3 MaxBlockDimensions { get; }

    /// <summary>Largest grid dimensions.</summary>
    public Dim3 MaxGridDimensions { get; }

    private int Attribute(CuDeviceAttribute attribute)
    {
        int value;
        CuDriver.cuDeviceGetAttribute(&value, attribute, Handle).ThrowIfFailed();
        return value;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (sm_{ComputeCapability.Number})";
}
