namespace PammCuda.Cpu;

/// <summary>
/// Generator refinement (<see cref="PammOptions.RefineGenerators"/>) on the CPU, after the assignment: each generator
/// is turned towards the principal direction of the rows it represents, and their α are fitted to it again.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item>D_j = Σ_{f(i)=j} α_i X_i (float32, <see cref="CpuSegmentedReduction"/>: ascending i), with α as stored (rounded to
/// bfloat16 first when that is its type). D_j is C_j's image under the rows' Gram matrix Σ X_iX_iᵀ over ‖C_j‖², one
/// power-iteration step from C_j: the line through it captures at least as much of the rows' energy as C_j's.</item>
/// <item>C_j ← D_j·sqrt(‖C_j‖² / ‖D_j‖²), rounded once to X's type: the new direction at the old norm, so 16-bit types
/// cannot overflow. Where ‖D_j‖² is 0 or the scale is not a positive finite number (an empty group, rows of NaN or ∞), C_j
/// stays as it was. Every squared norm is the fma chain over ascending columns from +0, as in the assignment.</item>
/// <item>α_i ← ⟨X_i, C_f(i)⟩ / ‖C_f(i)‖² for every row whose α is not 0; a row with α = 0 (dropped, zero, or orthogonal to
/// its generator) keeps 0, and so does every row of a generator whose new norm is 0. f, η and β do not change.</item>
/// </list>
/// </remarks>
internal static unsafe class CpuGeneratorRefinement
{
    // Rows per task of the α fit: enough work per task to amortise the scheduling, small enough to balance.
    private const int RowsPerTask = 256;

    /// <summary>Refines <paramref name="generators"/> (k × columns) and <paramref name="alpha"/> in place.</summary>
    public static void Refine<T>(T* x, int rows, int columns, T[] generators, int k, GeneratorAssignment assignment, float[] alpha,
        ParallelOptions parallelOptions) where T : unmanaged
    {
        float[] sums = CpuSegmentedReduction.Reduce(assignment, alpha, k, x, rows, columns, parallelOptions);
        var squaredNorms = new float[k];
        var widened = new float[columns];
        for (int j = 0; j < k; j++)
        {
            Span<T> generator = generators.AsSpan(j * columns, columns);
            RowConverter.ToSingle<T>(generator, widened);
            ReadOnlySpan<float> sum = sums.AsSpan((int)((long)j * columns), columns);
            float scale = MathF.Sqrt(SquaredNorm(widened) / SquaredNorm(sum));
            if (float.IsFinite(scale) && scale > 0f)
            {
                for (int p = 0; p < columns; p++) generator[p] = ElementConvert.FromSingle<T>(sum[p] * scale);
                RowConverter.ToSingle<T>(generator, widened);
            }
            squaredNorms[j] = SquaredNorm(widened);
        }
        FitAlpha(x, rows, columns, generators, squaredNorms, assignment, alpha, parallelOptions);
    }

    private static void FitAlpha<T>(T* x, int rows, int columns, T[] generators, float[] squaredNorms, GeneratorAssignment assignment,
        float[] alpha, ParallelOptions parallelOptions) where T : unmanaged
    {
        nint xAddress = (nint)x;
        int tasks = (int)(((long)rows + RowsPerTask - 1) / RowsPerTask);
        CpuParallel.For(tasks, parallelOptions,
            () => (Row: new float[columns], Generator: new float[columns]),
            (task, buffers) =>
            {
                int first = task * RowsPerTask, end = Math.Min(rows, first + RowsPerTask);
                for (int i = first; i < end; i++)
                {
                    if (alpha[i] == 0f) continue;
                    int j = assignment[i];
                    RowConverter.ToSingle(new ReadOnlySpan<T>((T*)xAddress + (long)i * columns, columns), buffers.Row);
                    RowConverter.ToSingle<T>(generators.AsSpan(j * columns, columns), buffers.Generator);
                    alpha[i] = squaredNorms[j] != 0f ? Dot(buffers.Row, buffers.Generator) / squaredNorms[j] : 0f;
                }
                return buffers;
            },
            _ => { });
    }

    private static float SquaredNorm(ReadOnlySpan<float> values) => Dot(values, values);

    // The fma chain over ascending p from +0 that every similarity and norm of the CPU backend is.
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0f;
        for (int p = 0; p < a.Length; p++) sum = MathF.FusedMultiplyAdd(a[p], b[p], sum);
        return sum;
    }
}
