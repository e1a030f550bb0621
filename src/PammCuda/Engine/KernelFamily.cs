namespace PammCuda.Engine;

/// <summary>
/// The names of one kernel's per-dtype instances, <c>{stem}_{dtype.ShortName()}</c> (as the kernels' instance macros write
/// them), built once so that a launch does not format a string. An unknown dtype throws instead of falling to some instance.
/// </summary>
internal sealed class KernelFamily(string stem)
{
    private readonly string[] _names = [.. Enum.GetValues<DType>().Select(dtype => $"{stem}_{dtype.ShortName()}")];

    /// <summary>The instance for <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An undefined dtype.</exception>
    public string For(DType dtype) => (uint)dtype < (uint)_names.Length ? _names[(int)dtype] : $"{stem}_{dtype.ShortName()}";

}
