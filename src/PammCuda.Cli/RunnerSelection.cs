namespace PammCuda.Cli;

/// <summary>Picks the backend that <c>--device</c> asks for.</summary>
internal static class RunnerSelection
{
    // Auto means the CPU until a GPU backend is built into this program.
    public static IPammRunner For(DeviceChoice device) => device switch
    {
        DeviceChoice.Auto or DeviceChoice.Cpu => new CpuRunner(),
        _ => throw new ArgumentOutOfRangeException(nameof(device), device, "Unknown device choice."),
    };
}
