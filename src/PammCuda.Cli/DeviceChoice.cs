namespace PammCuda.Cli;

/// <summary>Where <c>--device</c> asks PAMM to run.</summary>
internal enum DeviceChoice
{
    /// <summary>The GPU when a GPU backend is built in and finds a GPU, the CPU otherwise.</summary>
    Auto,

    /// <summary>The CPU backend, <see cref="PammCuda.Cpu.CpuPamm"/>.</summary>
    Cpu,
}
