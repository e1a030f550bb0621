using System.Runtime.ExceptionServices;
using PammCuda.Devices;

namespace PammCuda.Cuda;

/// <summary>
/// The kernel compile pipeline: picks the NVRTC target for a device (its own <c>sm_XY</c> as a CUBIN, or PTX for
/// the newest virtual architecture NVRTC knows when it does not know the device's), compiles with the headers of
/// <c>kernels/</c> in memory, and caches images keyed by everything that decides the output.
/// </summary>
internal sealed class KernelCompiler
{
    /// <summary>
    /// NVRTC options besides the architecture, each chosen on purpose:
    /// C++17, the standard the emulated device's g++ compiles the same sources with (<see cref="Emulation.HostCompiler"/>),
    /// so both compilers are held to one language; <c>-default-device</c> so helper functions need no
    /// <c>__device__</c>; <c>-lineinfo</c> so compute-sanitizer and Nsight Compute map to source lines (no cost at run
    /// time). No fast math: α = s / ‖C‖² and the |csim| argmax must be the IEEE results the CPU backend and the emulated
    /// device reproduce, so denormals are kept and division and square root are correctly rounded, and <c>a*b + c</c> is
    /// not contracted into an FMA (which rounds once where C# and g++ round twice); a kernel that wants an FMA writes
    /// <c>fmaf</c>. These are stated rather than left to defaults.
    /// </summary>
    public static IReadOnlyList<string> Options { get; } =
        ["--std=c++17", "-default-device", "-lineinfo", "--ftz=false", "--prec-div=true", "--prec-sqrt=true", "--fmad=false"];

    /// <summary>A compiler caching in <paramref name="cache"/> (default: <see cref="KernelImageCache"/>'s default folder).</summary>
    public KernelCompiler(KernelImageCache? cache = null)
    {
        Cache = cache ?? new KernelImageCache();
    }

    /// <summary>Where compiled images are kept.</summary>
    public KernelImageCache Cache { get; }

    /// <summary>
    /// Compiles <paramref name="source"/> for a device of capability <paramref name="target"/>, or returns the
    /// cached image of an identical compile.
    /// </summary>
    /// <param name="source">CUDA C++ text.</param>
    /// <param name="programName">Its file name, for the log.</param>
    /// <param name="target">The device's compute capability.</param>
    /// <param name="headers">Headers it may include by name; default: the <c>*.cuh</c> files of <c>kernels/</c>.</param>
    /// <exception cref="NvrtcException">The compile failed; the message holds the log.</exception>
    /// <exception cref="NotSupportedException">NVRTC cannot target a device this old.</exception>
    public KernelImage Compile(string source, string programName, ComputeCapability target, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(programName);
        var headerList = (headers ?? KernelSources.Headers).ToList();
        string architecture = ChooseArchitecture(target, NvrtcCompiler.SupportedArchitectures);

        List<string> keyParts = ["nvrtc", NvrtcCompiler.Version.ToString(), architecture, string.Join('\n', Options), programName, source];
        foreach (var (name, text) in headerList)
        {
            keyParts.Add(name);
            keyParts.Add(text);
        }
        string key = KernelImageCache.Key([.. keyParts]);

        KernelImage? compiled = null;
        var bytes = Cache.GetOrAdd(key, () =>
        {
            compiled = NvrtcCompiler.Compile(source, programName, headerList, architecture, Options);
            return compiled.Bytes.ToArray();
        });
        return compiled ?? new KernelImage(programName, bytes, NvrtcCompiler.FormatOf(architecture), architecture, "", fromCache: true);
    }

    /// <summary>Compiles every translation unit of <c>kernels/</c> for <paramref name="target"/>.</summary>
    public IReadOnlyList<KernelImage> CompileAll(ComputeCapability target) => CompileAll(KernelSources.TranslationUnits, target);

    /// <summary>
    /// Compiles <paramref name="units"/> (file name → source) for <paramref name="target"/>, side by side: each unit is an
    /// NVRTC program of its own, and NVRTC compiles distinct programs concurrently, so a device's first use with an empty
    /// cache waits for the slowest unit instead of for their sum, given the cores (NVRTC 11.8 for sm_90 on the 2-core CI
    /// machine: about 2.6 s each for <c>pamm_expand.cu</c> and <c>pamm_segmented_reduce.cu</c>, 10 s for all in a row).
    /// The images are those of <see cref="Compile"/>, bitwise, in the order of <paramref name="units"/>; when units fail,
    /// the first failing unit in that order throws its own exception.
    /// </summary>
    /// <exception cref="NvrtcException">A unit failed to compile; the message holds its log.</exception>
    internal IReadOnlyList<KernelImage> CompileAll(IReadOnlyList<KeyValuePair<string, string>> units, ComputeCapability target,
        IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(units);
        var headerList = (headers ?? KernelSources.Headers).ToList();
        var images = new KernelImage[units.Count];
        var failures = new Exception?[units.Count];
        Parallel.For(0, units.Count, i =>
        {
            try { images[i] = Compile(units[i].Value, units[i].Key, target, headerList); }
            catch (Exception failure) { failures[i] = failure; }
        });
        if (Array.Find(failures, failure => failure is not null) is { } first) ExceptionDispatchInfo.Throw(first);
        return images;
    }

    /// <summary>
    /// The NVRTC target for a device: <c>sm_XY</c> of the device when NVRTC supports it (or cannot say), else
    /// <c>compute_XY</c> of the newest supported architecture below the device's, whose PTX the driver compiles.
    /// </summary>
    /// <param name="target">The device's capability.</param>
    /// <param name="supported">What <c>nvrtcGetSupportedArchs</c> returned, or null.</param>
    /// <exception cref="NotSupportedException">Every supported architecture is newer than the device.</exception>
    public static string ChooseArchitecture(ComputeCapability target, IReadOnlyCollection<int>? supported)
    {
        if (supported is null || supported.Contains(target.Number)) return $"sm_{target.Number}";
        var older = supported.Where(a => a < target.Number).DefaultIfEmpty(0).Max();
        if (older == 0)
            throw new NotSupportedException($"NVRTC compiles for sm_{supported.Min()} to sm_{supported.Max()}; the device is sm_{target.Number}.");
        return $"compute_{older}";
    }
}
