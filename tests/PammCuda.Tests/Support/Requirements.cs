using System.Collections.Concurrent;
using NUnit.Framework.Interfaces;
using PammCuda.Cuda;
using PammCuda.Emulation;

namespace PammCuda.Tests.Support;

/// <summary>What a test may need that a machine can lack.</summary>
public enum Need
{
    /// <summary>A CUDA GPU with its driver.</summary>
    CudaGpu,

    /// <summary>NVRTC, CUDA's runtime compiler (no GPU needed).</summary>
    Nvrtc,

    /// <summary>The C++ compiler the emulated device builds the kernels with.</summary>
    Compiler,
}

/// <summary>
/// Skips (never passes) a test whose GPU, NVRTC or C++ compiler is missing, with the reason. Such a reason skips many
/// tests at once (a machine without a GPU skips every CUDA test), and <c>dotnet test</c> prints each skipped test with
/// its reason twice (as the reason, and again as the test's output, which the NUnit adapter copies it to). So under
/// <c>dotnet test</c> only the first test skipped for a reason carries it; the others are skipped without one, which
/// it prints in two lines: the test and its assembly. Each of them still counts as skipped. Run any other way (the
/// test application itself, as the GPU bundle does; an IDE) every skipped test keeps its reason.
/// </summary>
public static class Requirements
{
    // `dotnet test` (Microsoft.Testing.Platform mode) starts the test application with --dotnet-test-pipe.
    private static readonly bool ReasonsOnce = Environment.GetCommandLineArgs().Contains("--dotnet-test-pipe");
    private static readonly ConcurrentDictionary<string, bool> Given = new();

    /// <summary>Why <paramref name="need"/> is missing here, or null where it is present.</summary>
    public static string? Missing(Need need) => need switch
    {
        Need.CudaGpu => CudaRuntime.CheckAvailability() is { IsAvailable: false } cuda ? $"CUDA unavailable: {cuda.Reason}" : null,
        Need.Nvrtc => NvrtcCompiler.CheckAvailability() is { IsAvailable: false } nvrtc ? $"NVRTC unavailable: {nvrtc.Reason}" : null,
        Need.Compiler => EmulatedComputeDevice.CheckAvailability() is { } reason ? $"Emulated device unavailable: {reason}" : null,
        _ => throw new ArgumentOutOfRangeException(nameof(need), need, "Unknown need."),
    };

    /// <summary>
    /// Skips the running test where <paramref name="need"/> is missing; fails it instead where CUDA or NVRTC is missing
    /// and <c>PAMM_REQUIRE_CUDA=1</c> (a GPU visit sets it: there, skipped CUDA tests would read as a visit that passed).
    /// </summary>
    public static void Require(Need need)
    {
        if (Missing(need) is not { } reason) return;
        if (FailureWhenMissing(need, reason, CudaRequired) is { } failure) Assert.Fail(failure);
        Skip(reason);
    }

    /// <summary>What a test fails with where <paramref name="need"/> is missing for <paramref name="reason"/>; null where it is skipped.</summary>
    internal static string? FailureWhenMissing(Need need, string reason, bool cudaRequired) =>
        cudaRequired && need is Need.CudaGpu or Need.Nvrtc ? $"PAMM_REQUIRE_CUDA=1, but {reason}" : null;

    private static bool CudaRequired => Environment.GetEnvironmentVariable("PAMM_REQUIRE_CUDA") == "1";

    /// <summary>
    /// Skips the running test for <paramref name="reason"/>: with it, or under <c>dotnet test</c> with it only the first
    /// time. Call it from the test or from <see cref="RequiresAttribute"/>, never from a SetUp or OneTimeSetUp (NUnit
    /// prefixes their skips with "SetUp : " or "OneTimeSetUp: ", so the reason could not be left out).
    /// </summary>
    public static void Skip(string reason)
    {
        if (!ReasonsOnce) Assert.Ignore(reason);
        Assert.Ignore(Given.TryAdd(reason, true)
            ? $"{reason} [dotnet test lists the other tests skipped for this reason after this one, without it]"
            : string.Empty);
    }
}

/// <summary>
/// Skips each test of the class (or the method) before its SetUp where what it needs is missing (see
/// <see cref="Requirements"/>): <see cref="Need"/>, or without an argument the device of its <see cref="DeviceFixture"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = true)]
public sealed class RequiresAttribute : Attribute, ITestAction
{
    /// <summary>Each test needs the device of its <see cref="DeviceFixture"/>.</summary>
    public RequiresAttribute() { }

    /// <summary>Each test needs <paramref name="need"/>.</summary>
    public RequiresAttribute(Need need) => Need = need;

    /// <summary>What each test needs; null for the device of its <see cref="DeviceFixture"/>.</summary>
    public Need? Need { get; }

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if ((Need ?? (test.Fixture as DeviceFixture)?.Need) is { } need) Requirements.Require(need);
    }

    /// <inheritdoc />
    public void AfterTest(ITest test) { }
}
