using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Emulation;

namespace PammCuda.Tests.Support;

/// <summary>
/// The compute devices device tests run on, by name: "emulated" (the kernels on the CPU) and "cuda"
/// (a real GPU). A device that cannot be made here skips the test with the reason (see <see cref="Requirements"/>),
/// so nothing that did not run counts as passed.
/// </summary>
public static class TestDevices
{
    /// <summary>Name of the emulated device.</summary>
    public const string Emulated = "emulated";

    /// <summary>Name of the first CUDA GPU.</summary>
    public const string Cuda = "cuda";

    /// <summary>Every device name, for <c>[TestFixtureSource]</c>.</summary>
    public static readonly string[] Names = [Emulated, Cuda];

    /// <summary>What the named device needs: a C++ compiler or a CUDA GPU.</summary>
    public static Need NeedOf(string name) => name switch
    {
        Emulated => Need.Compiler,
        Cuda => Need.CudaGpu,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test device."),
    };

    /// <summary>Opens the named device, or skips the running test with why it cannot run here.</summary>
    public static IComputeDevice Open(string name)
    {
        Requirements.Require(NeedOf(name));
        return name == Emulated ? new EmulatedComputeDevice() : new CudaComputeDevice();
    }
}
