using PammCuda.Sampling;

namespace PammCuda.Cpu;

/// <summary>
/// PAMM on the CPU: the reference backend that the GPU engine must agree with.
/// </summary>
/// <remarks>
/// <para><b>Compression</b> of X (b × n, row-major):</para>
/// <list type="number">
/// <item>k = <see cref="PammOptions.ResolveK"/>(b). The generator list is <see cref="PammOptions.GeneratorIndices"/>
/// in the given order when set, else <see cref="GeneratorSampler.Sample"/>(b, k, seed) (ascending). C_j = X[list[j]].</item>
/// <item>All arithmetic is float32 on the widened values of X. Every similarity s_ij = ⟨X_i, C_j⟩ and every squared norm
/// is the fused multiply-add chain acc = fma(a_p, b_p, acc) over ascending column p from +0 (<see cref="CpuGemmNT"/>),
/// whatever the vector width, blocking or thread count. ‖C_j‖² = ⟨C_j, C_j⟩ and ‖C_j‖ = sqrt(‖C_j‖²); a generator
/// with ‖C_j‖² = 0 is never chosen. Because one chain serves all three, a row equal to C_j gets α = 1 and csim² = 1
/// exactly.</item>
/// <item>A generator row (its index is in the list at position j) gets f = j and α = 1 exactly and is kept,
/// whatever its values (even if another generator holds the same vector, or it is zero).</item>
/// <item>A zero row (⟨X_i, X_i⟩ = 0 in float32) gets f = the first eligible generator (0 if none) and α = 0, and is kept.</item>
/// <item>Any other row: s_ij = ⟨X_i, C_j⟩, score_j = |s_ij| / ‖C_j‖ (float32 division), scanned over eligible j in
/// ascending order from the first eligible generator with a current best of −1, replacing it only when strictly
/// greater: ties go to the smallest j and a NaN score never wins, so f is always in [0, k). α = s_{i,f} / ‖C_f‖²
/// (float32); a row whose scores are all NaN keeps the first eligible generator and α = NaN, which then reaches the
/// product as an exact GEMM would carry it.</item>
/// <item>ε condition, in double: csim² = s² / (‖X_i‖² ‖C_f‖²); the row is dropped iff csim² &lt; 1 − ε²
/// (so every ε ≥ 1 keeps every row, and a NaN csim² keeps it). With no eligible generator csim² = 0.
/// A dropped row keeps its f but gets α = 0. η counts dropped rows and β = b / (b − η), 0 when every row is dropped.</item>
/// <item>α is rounded to its storage type (<see cref="PammOptions.AlphaType"/>). With <see cref="PammOptions.RefineGenerators"/>
/// the generators and α are then refined (<see cref="CpuGeneratorRefinement"/>) and α rounded again.</item>
/// </list>
/// <para><b>Approximate product</b> with G (b × m): B̃_j = Σ_{f(i)=j} α_i G_i in float32, each element summed over
/// ascending i (dropped rows add 0·G_i, so NaN and ∞ in G still propagate); then, with s = (float)(a·β),
/// out = s·(Cᵀ B̃) + c·out (n × m, <see cref="ProductLayout.InputByGradient"/>) or s·(B̃ᵀ C) + c·out
/// (m × n, <see cref="ProductLayout.GradientByInput"/>), each element accumulated over ascending j and rounded once to
/// the output type. When c = 0 the old output is never read.</para>
/// <para>Element types are float, <see cref="Half"/> and <see cref="BFloat16"/>, independently for X, G and the output.
/// Results are bitwise identical from run to run and for any degree of parallelism.</para>
/// </remarks>
public static unsafe class CpuPamm
{
    /// <summary>
    /// The SIMD width, in bits, that the CPU backend's kernels run at in this process: 512 (AVX-512), 256 (AVX2 with
    /// FMA), 128 (SSE or NEON) or 32 (no SIMD). It sets the speed only, never a bit of a result. Ahead-of-time
    /// compiled code gets the width it was compiled for (libpammcuda.so: 256 on x86-64), JIT-compiled code the widest
    /// this CPU runs.
    /// </summary>
    public static int VectorBits => GemmWidths.Best switch
    {
        GemmWidth.Vector512 => 512,
        GemmWidth.Vector256 => 256,
        GemmWidth.Vector128 => 128,
        _ => 32,
    };

    /// <summary>Compresses X (rows × columns, row-major) to generators, assignments and coefficients.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">rows or columns below 1, or invalid options (the parameter names the option).</exception>
    /// <exception cref="ArgumentException"><paramref name="x"/> empty or not rows × columns elements, or repeated explicit generator indices.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, Half or BFloat16.</exception>
    public static CpuCompressedActivation<T> Compress<T>(ReadOnlySpan<T> x, int rows, int columns, PammOptions options)
        where T : unmanaged =>
        Compress(x, rows, columns, options, new ParallelOptions());

    /// <summary>Compresses X with the given parallelism (the result does not depend on it).</summary>
    /// <inheritdoc cref="Compress{T}(ReadOnlySpan{T}, int, int, PammOptions)"/>
    public static CpuCompressedActivation<T> Compress<T>(ReadOnlySpan<T> x, int rows, int columns, PammOptions options, ParallelOptions parallelOptions)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(parallelOptions);
        CpuArguments.CheckElementType<T>();
        CpuArguments.CheckMatrix(x, rows, columns, nameof(x), nameof(rows), nameof(columns));
        int k = options.ResolveK(rows);
        int[] generatorRows = options.GeneratorIndices is { } explicitRows ? [.. explicitRows] : GeneratorSampler.Sample(rows, k, options.Seed);

        var generators = new T[(long)k * columns];
        for (int j = 0; j < k; j++)
            x.Slice(generatorRows[j] * columns, columns).CopyTo(generators.AsSpan(j * columns, columns));
        // C widened and packed once for the similarity product; every thread reads this one copy.
        var packedGenerators = GemmPanels.Pack<T>(generators, k, columns, GemmWidths.Best);

        var assignment = new GeneratorAssignment(rows, k);
        var alpha = new float[rows];
        int dropped;
        fixed (T* px = x)
            dropped = CpuAssignment.Assign(px, rows, columns, packedGenerators, generatorRows, options.Epsilon, assignment, alpha, parallelOptions);
        if (options.AlphaType == DType.BFloat16) RoundToBFloat16(alpha);
        if (options.RefineGenerators)
        {
            fixed (T* px = x)
                CpuGeneratorRefinement.Refine(px, rows, columns, generators, k, assignment, alpha, parallelOptions);
            if (options.AlphaType == DType.BFloat16) RoundToBFloat16(alpha);
        }
        return new CpuCompressedActivation<T>(rows, columns, k, generators, assignment, alpha, dropped, options.AlphaType);
    }

    // Nearest-even, as the GPU's pamm_f32_to_bf16.
    private static void RoundToBFloat16(float[] alpha)
    {
        for (int row = 0; row < alpha.Length; row++) alpha[row] = (float)(BFloat16)alpha[row];
    }

    /// <summary>
    /// Compresses X and writes the result into <paramref name="storage"/>, a block the caller owns, laid out as
    /// <see cref="CompressedStorageLayout"/> says (the layout the GPU engine writes into caller storage); returns the
    /// compressed activation as well. <see cref="ReadCompressed{T}"/> reads such a block back.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="storage"/> is shorter than <see cref="CompressedStorageLayout.TotalBytes"/>; other arguments as for Compress.</exception>
    /// <inheritdoc cref="Compress{T}(ReadOnlySpan{T}, int, int, PammOptions)"/>
    public static CpuCompressedActivation<T> CompressInto<T>(ReadOnlySpan<T> x, int rows, int columns, PammOptions options, Span<byte> storage)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(options);
        CpuArguments.CheckElementType<T>();
        CpuArguments.CheckMatrix(x, rows, columns, nameof(x), nameof(rows), nameof(columns));
        var layout = CompressedStorageLayout.For(rows, columns, options.ResolveK(rows), DTypes.Of<T>(), options.AlphaType);
        // Checked before the work, so that a too-small block fails fast.
        if (storage.Length < layout.TotalBytes)
            throw new ArgumentException($"storage holds {storage.Length} bytes; a {rows} × {columns} input with k = {layout.K} needs {layout.TotalBytes}.", nameof(storage));
        var compressed = Compress(x, rows, columns, options);
        compressed.WriteTo(storage);
        return compressed;
    }

    /// <summary>The compressed activation that a storage block written by <see cref="CompressInto{T}"/> (or by the GPU engine, copied to the host) holds, copied out of it.</summary>
    /// <exception cref="ArgumentException"><paramref name="storage"/> is too short, or holds an assignment or η out of range.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A shape below 1 or k outside [1, rows].</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, Half or BFloat16.</exception>
    public static CpuCompressedActivation<T> ReadCompressed<T>(ReadOnlySpan<byte> storage, int rows, int columns, int k,
        DType alphaType = DType.Float32) where T : unmanaged =>
        CpuCompressedActivation<T>.ReadFrom(storage, rows, columns, k, alphaType);

    /// <summary>
    /// The approximate product of the compressed X with G (rows × <paramref name="gradientColumns"/>, row-major):
    /// <c>output = a·Õ + c·output</c> with Õ = β·Cᵀ B̃ ≈ Xᵀ G (n × m) or its transpose (m × n), per <paramref name="layout"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gradientColumns"/> below 1 or an unknown <paramref name="layout"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradient"/> empty or not compressed.Rows × gradientColumns elements, or <paramref name="output"/> too small.</exception>
    /// <exception cref="NotSupportedException">An element type other than float, Half or BFloat16.</exception>
    public static void ApproxMatmul<T, TG, TOut>(
        CpuCompressedActivation<T> compressed, ReadOnlySpan<TG> gradient, int gradientColumns, Span<TOut> output,
        ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged =>
        ApproxMatmul(compressed, gradient, gradientColumns, output, layout, a, c, new ParallelOptions());

    /// <summary>The approximate product with the given parallelism (the result does not depend on it).</summary>
    /// <inheritdoc cref="ApproxMatmul{T, TG, TOut}(CpuCompressedActivation{T}, ReadOnlySpan{TG}, int, Span{TOut}, ProductLayout, float, float)"/>
    public static void ApproxMatmul<T, TG, TOut>(
        CpuCompressedActivation<T> compressed, ReadOnlySpan<TG> gradient, int gradientColumns, Span<TOut> output,
        ProductLayout layout, float a, float c, ParallelOptions parallelOptions)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(compressed);
        ArgumentNullException.ThrowIfNull(parallelOptions);
        CpuArguments.CheckElementType<TG>();
        CpuArguments.CheckElementType<TOut>();
        CpuArguments.CheckGradient(gradient, compressed.Rows, gradientColumns);
        CpuArguments.CheckLayout(layout);
        CpuArguments.CheckOutput(output, (long)compressed.Columns * gradientColumns);

        int rows = compressed.Rows, columns = compressed.Columns, k = compressed.K;
        float[] reduced;
        fixed (TG* pg = gradient)
            reduced = CpuSegmentedReduction.Reduce(compressed.Assignment, compressed.AlphaArray, k, pg, rows, gradientColumns, parallelOptions);
        float scale = (float)(a * compressed.Beta);
        fixed (T* pc = compressed.GeneratorArray)
        fixed (float* pr = reduced)
        fixed (TOut* po = output)
            CpuTransposedProduct.Run(layout, pc, pr, k, columns, gradientColumns, po, scale, c, parallelOptions);
    }

    /// <summary>
    /// The exact product, the reference for every approximation: <c>output = a·(Xᵀ G) + c·output</c> (n × m) or
    /// <c>a·(Gᵀ X) + c·output</c> (m × n), each element accumulated in float32 over ascending rows and rounded once
    /// to the output type; when c = 0 the old output is never read.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">rows, columns or gradientColumns below 1, or an unknown <paramref name="layout"/>.</exception>
    /// <exception cref="ArgumentException">A span empty or of the wrong length, or <paramref name="output"/> too small.</exception>
    /// <exception cref="NotSupportedException">An element type other than float, Half or BFloat16.</exception>
    public static void ExactMatmul<T, TG, TOut>(
        ReadOnlySpan<T> x, int rows, int columns, ReadOnlySpan<TG> gradient, int gradientColumns, Span<TOut> output,
        ProductLayout layout = ProductLayout.InputByGradient, float a = 1f, float c = 0f)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged =>
        ExactMatmul(x, rows, columns, gradient, gradientColumns, output, layout, a, c, new ParallelOptions());

    /// <summary>The exact product with the given parallelism (the result does not depend on it).</summary>
    /// <inheritdoc cref="ExactMatmul{T, TG, TOut}(ReadOnlySpan{T}, int, int, ReadOnlySpan{TG}, int, Span{TOut}, ProductLayout, float, float)"/>
    public static void ExactMatmul<T, TG, TOut>(
        ReadOnlySpan<T> x, int rows, int columns, ReadOnlySpan<TG> gradient, int gradientColumns, Span<TOut> output,
        ProductLayout layout, float a, float c, ParallelOptions parallelOptions)
        where T : unmanaged where TG : unmanaged where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(parallelOptions);
        CpuArguments.CheckElementType<T>();
        CpuArguments.CheckElementType<TG>();
        CpuArguments.CheckElementType<TOut>();
        CpuArguments.CheckMatrix(x, rows, columns, nameof(x), nameof(rows), nameof(columns));
        CpuArguments.CheckGradient(gradient, rows, gradientColumns);
        CpuArguments.CheckLayout(layout);
        CpuArguments.CheckOutput(output, (long)columns * gradientColumns);

        fixed (T* px = x)
        fixed (TG* pg = gradient)
        fixed (TOut* po = output)
            CpuTransposedProduct.Run(layout, px, pg, rows, columns, gradientColumns, po, a, c, parallelOptions);
    }
}
