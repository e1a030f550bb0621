namespace PammCuda.Interop;

/// <summary>What the candidate list depends on, passed in so that <see cref="CudaLibrarySearch"/> is a pure function.</summary>
/// <param name="IsWindows">Windows DLL names and folders instead of Linux ones.</param>
/// <param name="MultiarchDirectory">The distribution's library folder for this processor, e.g. <c>/usr/lib/x86_64-linux-gnu</c>.</param>
/// <param name="GetVariable">Reads an environment variable (null when unset).</param>
internal sealed record LibrarySearchEnvironment(bool IsWindows, string? MultiarchDirectory, Func<string, string?> GetVariable)
{
    /// <summary>The environment of this process.</summary>
    public static LibrarySearchEnvironment Current { get; } = new(
        OperatingSystem.IsWindows(),
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "/usr/lib/x86_64-linux-gnu",
            System.Runtime.InteropServices.Architecture.Arm64 => "/usr/lib/aarch64-linux-gnu",
            _ => null,
        },
        Environment.GetEnvironmentVariable);
}
