namespace PammCuda.Devices;

/// <summary>
/// A place where PAMM's kernels run: a CUDA GPU (<c>Cuda.CudaComputeDevice</c>) or the emulated
/// device (<c>Emulation.EmulatedComputeDevice</c>) that runs the same <c>kernels/*.cu</c> on the CPU.
/// The engine is written once against this interface. A device owns everything made on it and frees it
/// when disposed; anything made on it throws <see cref="ObjectDisposedException"/> afterwards.
/// </summary>
public interface IComputeDevice : IDisposable
{
    /// <summary>Human-readable name, e.g. "NVIDIA H100 80GB HBM3 (sm_90)" or "emulated (g++ 12.2, 2 threads)".</summary>
    string Name { get; }

    /// <summary>True for the emulated device.</summary>
    bool IsEmulated { get; }

    /// <summary>Bytes of device memory in total.</summary>
    long TotalMemoryBytes { get; }

    /// <summary>The stream work goes to when the caller gives none.</summary>
    IDeviceStream DefaultStream { get; }

    /// <summary>Creates a stream owned by this device, with the block scheduler's <paramref name="priority"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="priority"/> is not a <see cref="StreamPriority"/>.</exception>
    IDeviceStream CreateStream(StreamPriority priority = StreamPriority.Normal);

    /// <summary>Wraps a stream that a framework owns (a <c>CUstream</c> / <c>cudaStream_t</c>); disposing the wrapper does not destroy it.</summary>
    IDeviceStream WrapStream(nint nativeStream);

    /// <summary>Allocates <paramref name="length"/> elements. Contents are undefined (the emulated device fills them with NaN patterns).</summary>
    DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged;

    /// <summary>A non-owning view over device memory that someone else owns (a framework's tensor).</summary>
    DeviceBuffer<T> View<T>(ulong address, long length) where T : unmanaged;

    /// <summary>Looks up a kernel of <c>kernels/*.cu</c> by its <c>extern "C"</c> name, compiling the sources on first use.</summary>
    /// <exception cref="KeyNotFoundException">No kernel has that name.</exception>
    DeviceKernel GetKernel(string name);

    /// <summary>Raw allocation in bytes; used by <see cref="DeviceBuffer{T}"/>.</summary>
    internal ulong AllocateBytes(long bytes);

    /// <summary>Frees what <see cref="AllocateBytes"/> returned. Never throws (called from Dispose).</summary>
    internal void FreeBytes(ulong address);
}
