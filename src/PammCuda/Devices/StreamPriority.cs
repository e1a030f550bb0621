namespace PammCuda.Devices;

/// <summary>
/// Which stream's kernels the GPU's block scheduler starts first when SMs free up while several streams have blocks
/// waiting. It orders nothing and changes no result; it decides how soon a stream's short kernels run beside another
/// stream's long one (a compression beside the projection's GEMM) rather than after its last wave.
/// </summary>
public enum StreamPriority
{
    /// <summary>The context's default, lowest priority: what every stream has unless asked otherwise.</summary>
    Normal,

    /// <summary>The context's highest priority.</summary>
    High,
}

/// <summary>The check every device's <see cref="IComputeDevice.CreateStream"/> makes of its argument.</summary>
internal static class StreamPriorityCheck
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <c>priority</c> for a value that is not a member.</summary>
    public static void ThrowIfUndefined(StreamPriority priority)
    {
        if (priority is not (StreamPriority.Normal or StreamPriority.High))
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "Not a StreamPriority.");
    }
}
