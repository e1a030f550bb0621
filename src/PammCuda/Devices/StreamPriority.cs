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
