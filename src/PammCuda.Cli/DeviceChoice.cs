namespace PammCuda.Cli;

/// <summary>Where <c>--device</c> asks PAMM to run.</summary>
internal enum DeviceChoice
{
    /// <summary>The GPU when CUDA finds a usable one, the CPU otherwise.</summary>
    Auto,

    /// <summary>The CPU backend, <see cref="PammCuda.Cpu.CpuPamm"/>.</summary>
    Cpu,

    /// <summary>The GPU engine on the first CUDA GPU; a failure when there is none.</summary>
    Gpu,

    /// <summary>The GPU engine on the emulated device, which runs the same kernels on the CPU.</summary>
    Emulated,
}
