using PammCuda.Bench.Harness;
using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Emulation;

namespace PammCuda.Bench.Gpu;

/// <summary>Opens the device the GPU suite asked for, or says why it cannot, and describes it for the results header.</summary>
public static class GpuDeviceOpening
{
    /// <summary>The opened device and its header lines, or null and the reason there is none.</summary>
    public static (IComputeDevice? Device, IReadOnlyList<string> Description, string UnavailableReason) Open(GpuSuiteDevice choice) =>
        choice == GpuSuiteDevice.Emulated ? OpenEmulated() : OpenCuda();

    private static (IComputeDevice?, IReadOnlyList<string>, string) OpenCuda()
    {
        var cuda = CudaRuntime.CheckAvailability();
        if (!cuda.IsAvailable)
            return (null, [], cuda.Reason);
        var nvrtc = NvrtcCompiler.CheckAvailability();
        if (!nvrtc.IsAvailable)
            return (null, [], $"NVRTC, which compiles the kernels, is unavailable: {nvrtc.Reason}");
        CudaComputeDevice device;
        try
        {
            device = new CudaComputeDevice(0);
        }
        catch (DeviceUnavailableException error)
        {
            return (null, [], error.Message);
        }
        var gpu = device.Gpu;
        return (device,
        [
            $"- device: {gpu} — {ByteSize.Format(gpu.TotalMemoryBytes)}, {gpu.MultiprocessorCount} SMs, L2 {ByteSize.Format(gpu.L2CacheBytes)}, " +
            $"nominal memory bandwidth {gpu.PeakMemoryBandwidthBytesPerSecond / 1e9:F0} GB/s",
            $"- driver: supports CUDA {cuda.DriverVersion} ({cuda.DriverLibrary})",
            $"- NVRTC: {nvrtc.Version} ({nvrtc.Reason})",
        ], "");
    }

    private static (IComputeDevice?, IReadOnlyList<string>, string) OpenEmulated()
    {
        if (EmulatedComputeDevice.CheckAvailability() is { } reason)
            return (null, [], reason);
        var device = new EmulatedComputeDevice();
        return (device,
        [
            $"- device: **{device.Name} — EMULATED: the kernels run on the CPU. These numbers check that the harness runs; they are NOT GPU measurements.**",
        ], "");
    }
}
