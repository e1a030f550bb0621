using System.Runtime.InteropServices;

namespace PammCuda.Bench.Cpu;

/// <summary>
/// OpenBLAS's <c>cblas_sgemm</c>, the real BLAS the CPU backend is compared with, from Debian's <c>libopenblas0</c>.
/// Loaded by hand (not <c>[LibraryImport]</c>) so that a machine without it gets a clear skip instead of a crash.
/// </summary>
public sealed unsafe class OpenBlas
{
    /// <summary>The library's soname.</summary>
    public const string LibraryName = "libopenblas.so.0";

    private const int RowMajor = 101;
    private const int NoTranspose = 111;
    private const int Transpose = 112;

    private static readonly Lazy<(OpenBlas? Library, string Reason)> Loaded = new(Load);

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;

    // OpenBLAS's kernel sets that use neither AVX2 nor AVX-512. Prescott's is its generic x86-64 one, which an OpenBLAS older
    // than the CPU falls back to: Debian 12's 0.3.21 on an Intel Xeon of family 6, model 207 (Emerald Rapids), where its
    // sgemm then runs at about a fifth of the speed of its SkylakeX kernels (30 against 160 GFLOP/s on one core).
    private static readonly HashSet<string> KernelsWithoutAvx2 = new(StringComparer.OrdinalIgnoreCase)
    {
        "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Atom", "Opteron", "Opteron_SSE3", "Barcelona",
        "Bobcat", "Bulldozer", "Piledriver", "Steamroller",
    };

    private OpenBlas(nint sgemm, string configuration, string coreName, int threads)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
        Configuration = configuration;
        CoreName = coreName;
        Threads = threads;
    }

    /// <summary>The library, or null when it cannot be loaded (see <see cref="UnavailableReason"/>).</summary>
    public static OpenBlas? Shared => Loaded.Value.Library;

    /// <summary>Why <see cref="Shared"/> is null; empty when it is not.</summary>
    public static string UnavailableReason => Loaded.Value.Reason;

    /// <summary><c>openblas_get_config()</c>: version, target and build options.</summary>
    public string Configuration { get; }

    /// <summary><c>openblas_get_corename()</c>: the kernels it chose for this CPU (or <c>OPENBLAS_CORETYPE</c> named).</summary>
    public string CoreName { get; }

    /// <summary><c>openblas_get_num_threads()</c>.</summary>
    public int Threads { get; }

    /// <summary>
    /// Why the float32 baseline is slower than this CPU allows, or null: kernels without AVX2 on a CPU with AVX2 and FMA.
    /// Speedups against such a baseline would be too high.
    /// </summary>
    public string? SlowKernelsWarning(bool cpuHasAvx2AndFma) =>
        cpuHasAvx2AndFma && KernelsWithoutAvx2.Contains(CoreName)
            ? $"OpenBLAS runs its {CoreName} kernels, without AVX2, on a CPU with AVX2 and FMA (an OpenBLAS older than the CPU " +
              "falls back to them): the float32 baseline is slower than this CPU allows and the speedups against it too high. " +
              "Set OPENBLAS_CORETYPE=Haswell (SkylakeX where the CPU has AVX-512) before running the suite."
            : null;

    /// <summary>output = Xᵀ G (columns × gradientColumns) for row-major X (rows × columns) and G (rows × gradientColumns).</summary>
    /// <exception cref="ArgumentException">A span of the wrong length.</exception>
    public void TransposedProduct(ReadOnlySpan<float> x, int rows, int columns, ReadOnlySpan<float> gradient, int gradientColumns, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gradientColumns, 1);
        if (x.Length != (long)rows * columns)
            throw new ArgumentException($"X holds {x.Length} elements, not {rows} × {columns}.", nameof(x));
        if (gradient.Length != (long)rows * gradientColumns)
            throw new ArgumentException($"G holds {gradient.Length} elements, not {rows} × {gradientColumns}.", nameof(gradient));
        if (output.Length < (long)columns * gradientColumns)
            throw new ArgumentException($"The output holds {output.Length} elements; {columns} × {gradientColumns} are needed.", nameof(output));
        fixed (float* px = x)
        fixed (float* pg = gradient)
        fixed (float* po = output)
            _sgemm(RowMajor, Transpose, NoTranspose, columns, gradientColumns, rows, 1f, px, columns, pg, gradientColumns, 0f, po, gradientColumns);
    }

    private static (OpenBlas?, string) Load()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out nint handle))
            return (null, $"{LibraryName} not found (Debian: apt-get install libopenblas0)");
        if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out nint sgemm))
            return (null, $"{LibraryName} exports no cblas_sgemm");
        string configuration = NativeLibrary.TryGetExport(handle, "openblas_get_config", out nint getConfig)
            ? Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)getConfig)()) ?? "unknown"
            : "unknown";
        string coreName = NativeLibrary.TryGetExport(handle, "openblas_get_corename", out nint getCoreName)
            ? Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)getCoreName)()) ?? "unknown"
            : "unknown";
        int threads = NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out nint getThreads)
            ? ((delegate* unmanaged<int>)getThreads)()
            : 0;
        return (new OpenBlas(sgemm, configuration, coreName, threads), "");
    }
}
