namespace PammCuda.Devices;

/// <summary>A compiled kernel of a device, found by name. <see cref="Handle"/> means something only to the device that made it.</summary>
public sealed class DeviceKernel
{
    internal DeviceKernel(IComputeDevice device, string name, nint handle, int maxThreadsPerBlock)
    {
        Device = device;
        Name = name;
        Handle = handle;
        MaxThreadsPerBlock = maxThreadsPerBlock;
    }

    /// <summary>The device the kernel was compiled for.</summary>
    public IComputeDevice Device { get; }

    /// <summary>The kernel's <c>extern "C"</c> name.</summary>
    public string Name { get; }

    /// <summary>Most threads per block this kernel can be launched with (from its register use and launch bounds).</summary>
    public int MaxThreadsPerBlock { get; }

    internal nint Handle { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
