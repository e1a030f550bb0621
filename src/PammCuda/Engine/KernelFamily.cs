using System.Collections.Frozen;

namespace PammCuda.Engine;

/// <summary>
/// The names of one kernel's instances, <c>{stem}_{suffix}</c> (as the kernels' <c>extern "C"</c> wrappers write them), built
/// once so that a launch does not format a string. An unknown instance throws (from <c>suffix</c>) instead of falling to some
/// other instance.
/// </summary>
internal sealed class KernelFamily<TInstance>(string stem, Func<TInstance, string> suffix) where TInstance : struct, Enum
{
    private readonly FrozenDictionary<TInstance, string> _names =
        Enum.GetValues<TInstance>().ToFrozenDictionary(instance => instance, instance => $"{stem}_{suffix(instance)}");

    /// <summary>The instance for <paramref name="instance"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An undefined value.</exception>
    public string For(TInstance instance) => _names.TryGetValue(instance, out string? name) ? name : $"{stem}_{suffix(instance)}";
}

/// <summary>The two ways kernels are instantiated: per element type, and per width of the assignment f.</summary>
internal static class KernelFamily
{
    /// <summary><c>{stem}_f32</c>, <c>_f16</c>, <c>_bf16</c> (<see cref="DTypes.ShortName"/>).</summary>
    public static KernelFamily<DType> PerDType(string stem) => new(stem, dtype => dtype.ShortName());

    /// <summary><c>{stem}_u8</c>, <c>_u16</c>, <c>_i32</c> (<see cref="AssignmentWidths.KernelSuffix"/>).</summary>
    public static KernelFamily<AssignmentWidth> PerAssignmentWidth(string stem) => new(stem, width => width.KernelSuffix());
}
