using PammCuda.Devices;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>Process-wide CUDA state: whether CUDA can be used, and the one-time driver initialisation.</summary>
public static unsafe class CudaRuntime
{
    /// <summary>The oldest driver supported: CUDA 11.2, the oldest NVRTC the library loads (cubins need a driver at least as new).</summary>
    public static Version MinimumDriverVersion { get; } = new(11, 2);

    private static readonly Lazy<CudaAvailability> Availability = new(Probe);

    /// <summary>
    /// Checks, without throwing, whether CUDA can be used: a driver of CUDA 11.2 or later with a device, and NVRTC and
    /// cuBLAS loadable. The answer is computed once per process.
    /// </summary>
    public static CudaAvailability CheckAvailability() => Availability.Value;

    /// <summary>Throws <see cref="DeviceUnavailableException"/> with the reason unless CUDA is available.</summary>
    public static void EnsureAvailable()
    {
        var availability = CheckAvailability();
        if (!availability.IsAvailable) throw new DeviceUnavailableException(availability.Reason);
    }

    /// <summary>The CUDA version of a driver version number (13000 → 13.0).</summary>
    public static Version ParseDriverVersion(int version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return new Version(version / 1000, version % 1000 / 10);
    }

    private static CudaAvailability Probe()
    {
        if (!CudaLibraryResolver.TryLoad(CudaLibrary.Driver, out var pathOrFailure))
            return new CudaAvailability(false, pathOrFailure, 0, null, null);
        string library = pathOrFailure;

        var init = CuDriver.cuInit(0);
        if (init != CuResult.Success)
        {
            var error = StatusChecks.DriverException(init, "cuInit(0)");
            string reason = init switch
            {
                CuResult.NoDevice => "no CUDA device",
                CuResult.StubLibrary => $"{library} is the CUDA stub library, not a driver",
                CuResult.SystemDriverMismatch or CuResult.CompatNotSupportedOnDevice => "driver too old or mismatched",
                _ => "the CUDA driver failed to initialise",
            };
            return new CudaAvailability(false, $"{reason} ({error.Message})", 0, null, library);
        }

        int versionNumber, count;
        CuDriver.cuDriverGetVersion(&versionNumber).ThrowIfFailed();
        var version = ParseDriverVersion(versionNumber);
        if (version < MinimumDriverVersion)
            return new CudaAvailability(false, $"driver too old: it supports CUDA {version}, PammCuda needs {MinimumDriverVersion} or later", 0, version, library);
        CuDriver.cuDeviceGetCount(&count).ThrowIfFailed();
        if (count == 0) return new CudaAvailability(false, "no CUDA device", 0, version, library);
        // The engine needs the compiler and cuBLAS too: a host with a driver but without them cannot run it, and callers
        // that pick the GPU when this says yes (the CLI's --device auto, pamm_cuda_available) must fall back instead.
        if (!CudaLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out var nvrtcFailure))
            return new CudaAvailability(false, $"NVRTC, which compiles the kernels, cannot be loaded: {nvrtcFailure}", count, version, library);
        if (!CudaLibraryResolver.TryLoad(CudaLibrary.Blas, out var blasFailure))
            return new CudaAvailability(false, $"cuBLAS cannot be loaded: {blasFailure}", count, version, library);
        return new CudaAvailability(true, $"{count} CUDA device(s), driver for CUDA {version} ({library})", count, version, library);
    }
}
