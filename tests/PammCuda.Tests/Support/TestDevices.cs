using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Emulation;

namespace PammCuda.Tests.Support;

/// <summary>
/// The compute devices device tests run on, by name: "emulated" (the kernels on the CPU) and "cuda"
/// (a real GPU). A device that cannot be made here ignores the test with the reason, so nothing that
/// did not run counts as passed.
/// </summary>
public static class TestDevices
{
    /// <summary>Name of the emulated device.</summary>
    public const string Emulated = "emulated";

    /// <summary>Name of the first CUDA GPU.</summary>
    public const string Cuda = "cuda";

    /// <summary>Every device name, for <c>[TestFixtureSource]</c>.</summary>
    public static readonly string[] Names = [Emulated, Cuda];

    /// <summary>Opens the named device, or calls <see cref="Assert.Ignore(string)"/> with why it cannot run here.</summary>
    public static IComputeDevice Open(string name)
    {
        switch (name)
        {
            case Emulated:
                if (EmulatedComputeDevice.CheckAvailability() is { } emulatorReason)
                    Assert.Ignore($"Emulated device unavailable: {emulatorReason}");
                return new EmulatedComputeDevice();
            case Cuda:
                var availability = CudaRuntime.CheckAvailability();
                if (!availability.IsAvailable) Assert.Ignore($"CUDA unavailable: {availability.Reason}");
                return new CudaComputeDevice();
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test device.");
        }
    }
}
