using System.Runtime.InteropServices;
using System.Text;
using PammCuda.Interop;

namespace PammCuda.Cuda;

/// <summary>
/// NVRTC, the CUDA C++ compiler library: one source plus in-memory headers to a CUBIN (<c>sm_XY</c>) or to PTX
/// (<c>compute_XY</c>). A failed compile throws <see cref="NvrtcException"/> carrying the compiler log.
/// </summary>
internal static unsafe class NvrtcCompiler
{
    private static readonly Lazy<NvrtcAvailability> Availability = new(Probe);
    private static readonly Lazy<IReadOnlyList<int>?> Architectures = new(() => Nvrtc.GetSupportedArchitectures());

    /// <summary>Checks, without throwing, whether NVRTC can be loaded.</summary>
    public static NvrtcAvailability CheckAvailability() => Availability.Value;

    /// <summary>NVRTC's version.</summary>
    /// <exception cref="CudaLibraryNotFoundException">No libnvrtc could be loaded.</exception>
    public static Version Version => Availability.Value.Version ?? throw CudaLibraryResolver.LoadFailure(CudaLibrary.Nvrtc);

    /// <summary>The <c>sm_XY</c> numbers NVRTC compiles for, ascending; null when it cannot say (older than 11.2).</summary>
    public static IReadOnlyList<int>? SupportedArchitectures
    {
        get
        {
            _ = Version;
            return Architectures.Value;
        }
    }

    /// <summary>Compiles <paramref name="source"/> for <paramref name="architecture"/>.</summary>
    /// <param name="source">CUDA C++ text.</param>
    /// <param name="programName">The file name the source is known by in the log.</param>
    /// <param name="headers">File name → text of headers the source may <c>#include</c> by that name.</param>
    /// <param name="architecture"><c>sm_XY</c> for a CUBIN, <c>compute_XY</c> for PTX.</param>
    /// <param name="options">Further NVRTC options (not <c>--gpu-architecture</c>, which <paramref name="architecture"/> sets).</param>
    /// <exception cref="NvrtcException">The compile failed; the message holds the log.</exception>
    public static KernelImage Compile(string source, string programName, IEnumerable<KeyValuePair<string, string>> headers, string architecture, IEnumerable<string> options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(programName);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(options);
        var format = FormatOf(architecture);
        var headerList = headers.ToList();
        string[] allOptions = [$"--gpu-architecture={architecture}", .. options];

        using var sourceText = new Utf8Strings([source, programName]);
        using var headerTexts = new Utf8Strings(headerList.Select(h => h.Value));
        using var headerNames = new Utf8Strings(headerList.Select(h => h.Key));
        using var optionTexts = new Utf8Strings(allOptions);

        NvrtcProgramHandle program;
        Nvrtc.nvrtcCreateProgram(&program, sourceText[0], sourceText[1], headerList.Count, headerTexts.Pointers, headerNames.Pointers).ThrowIfFailed();
        try
        {
            var compiled = Nvrtc.nvrtcCompileProgram(program, allOptions.Length, optionTexts.Pointers);
            string log = ReadLog(program);
            if (compiled != NvrtcResult.Success)
                throw StatusChecks.NvrtcException(compiled, $"nvrtcCompileProgram({programName}, {string.Join(' ', allOptions)})", log);
            return new KernelImage(programName, ReadOutput(program, format), format, architecture, log, fromCache: false);
        }
        finally
        {
            _ = Nvrtc.nvrtcDestroyProgram(&program);
        }
    }

    /// <summary><c>sm_XY</c> → CUBIN, <c>compute_XY</c> → PTX.</summary>
    internal static KernelImageFormat FormatOf(string architecture)
    {
        ArgumentException.ThrowIfNullOrEmpty(architecture);
        if (architecture.StartsWith("sm_", StringComparison.Ordinal)) return KernelImageFormat.Cubin;
        if (architecture.StartsWith("compute_", StringComparison.Ordinal)) return KernelImageFormat.Ptx;
        throw new ArgumentException($"Architecture '{architecture}' must be sm_XY (CUBIN) or compute_XY (PTX).", nameof(architecture));
    }

    private static string ReadLog(NvrtcProgramHandle program)
    {
        nuint size;
        Nvrtc.nvrtcGetProgramLogSize(program, &size).ThrowIfFailed();
        if (size <= 1) return "";
        var log = new byte[size];
        fixed (byte* p = log) Nvrtc.nvrtcGetProgramLog(program, p).ThrowIfFailed();
        return Encoding.UTF8.GetString(log, 0, log.Length - 1).TrimEnd();
    }

    private static byte[] ReadOutput(NvrtcProgramHandle program, KernelImageFormat format)
    {
        nuint size;
        if (format == KernelImageFormat.Cubin) Nvrtc.nvrtcGetCUBINSize(program, &size).ThrowIfFailed();
        else Nvrtc.nvrtcGetPTXSize(program, &size).ThrowIfFailed();
        var output = new byte[size];
        fixed (byte* p = output)
        {
            if (format == KernelImageFormat.Cubin) Nvrtc.nvrtcGetCUBIN(program, p).ThrowIfFailed();
            else Nvrtc.nvrtcGetPTX(program, p).ThrowIfFailed();
        }
        return output;
    }

    private static NvrtcAvailability Probe()
    {
        if (!CudaLibraryResolver.TryLoad(CudaLibrary.Nvrtc, out var pathOrFailure))
            return new NvrtcAvailability(false, pathOrFailure, null);
        int major, minor;
        Nvrtc.nvrtcVersion(&major, &minor).ThrowIfFailed();
        var version = new Version(major, minor);
        return new NvrtcAvailability(true, $"NVRTC {version} ({pathOrFailure})", version);
    }

    /// <summary>NUL-terminated UTF-8 copies of strings in native memory, with an array of pointers to them.</summary>
    private sealed class Utf8Strings : IDisposable
    {
        private readonly nint[] _strings;

        public Utf8Strings(IEnumerable<string> values)
        {
            _strings = [.. values.Select(Marshal.StringToCoTaskMemUTF8)];
            Pointers = (byte**)NativeMemory.Alloc((nuint)Math.Max(1, _strings.Length), (nuint)sizeof(byte*));
            for (int i = 0; i < _strings.Length; i++) Pointers[i] = (byte*)_strings[i];
        }

        public byte** Pointers { get; }

        public byte* this[int index] => (byte*)_strings[index];

        public void Dispose()
        {
            foreach (var s in _strings) Marshal.FreeCoTaskMem(s);
            NativeMemory.Free(Pointers);
        }
    }
}
