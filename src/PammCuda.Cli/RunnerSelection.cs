using PammCuda.Cuda;
using PammCuda.Emulation;

namespace PammCuda.Cli;

/// <summary>Picks and opens the backend that <c>--device</c> asks for.</summary>
internal static class RunnerSelection
{
    /// <summary>The runner for <paramref name="device"/>; a device that cannot be used here is a <see cref="CommandFailedException"/> with the reason.</summary>
    public static IPammRunner For(DeviceChoice device) => device switch
    {
        DeviceChoice.Auto => CudaRuntime.CheckAvailability().IsAvailable ? OpenGpu() : new CpuRunner(),
        DeviceChoice.Cpu => new CpuRunner(),
        DeviceChoice.Gpu => OpenGpu(),
        DeviceChoice.Emulated => OpenEmulated(),
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, "Unknown device choice."),
    };

    private static DeviceRunner OpenGpu()
    {
        CudaAvailability availability = CudaRuntime.CheckAvailability();
        if (!availability.IsAvailable)
            throw new CommandFailedException($"--device gpu: no usable GPU: {availability.Reason}");
        return new DeviceRunner(new CudaComputeDevice());
    }

    private static DeviceRunner OpenEmulated()
    {
        if (EmulatedComputeDevice.CheckAvailability() is string reason)
            throw new CommandFailedException($"--device emulated: the emulated device cannot run here: {reason}");
        return new DeviceRunner(new EmulatedComputeDevice());
    }
}
