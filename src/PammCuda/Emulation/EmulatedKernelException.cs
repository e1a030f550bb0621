namespace PammCuda.Emulation;

/// <summary>
/// A kernel failed on the emulated device: an out-of-bounds write caught by a buffer guard, a divergent
/// or deadlocked barrier, a warp collective whose mask does not match, or <c>__trap()</c>.
/// </summary>
public sealed class EmulatedKernelException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="kernelName"/> with what went wrong.</summary>
    public EmulatedKernelException(string kernelName, string message)
        : base($"Kernel {kernelName} failed on the emulated device: {message}")
    {
        KernelName = kernelName;
    }

    /// <summary>The kernel (or device operation, such as "Gemm") that failed.</summary>
    public string KernelName { get; }
}
