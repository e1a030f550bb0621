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
        // C widened once; each task widens its own rows, FitRows at a time.
        var widenedGenerators = new float[generators.Length];
        RowConverter.ToSingle<T>(generators, widenedGenerators);
        nint xAddress = (nint)x;
        int tasks = (int)(((long)rows + RowsPerTask - 1) / RowsPerTask);
        CpuParallel.For(tasks, parallelOptions,
            () => new float[FitRows * columns],
            (task, widenedRows) =>
            {
                int first = task * RowsPerTask, end = Math.Min(rows, first + RowsPerTask);
                Span<int> fitted = stackalloc int[FitRows];
                int count = 0;
                for (int i = first; i < end; i++)
                {
                    if (alpha[i] == 0f) continue;
                    RowConverter.ToSingle(new ReadOnlySpan<T>((T*)xAddress + (long)i * columns, columns), widenedRows.AsSpan(count * columns, columns));
                    fitted[count++] = i;
                    if (count == FitRows)
                    {
                        FitRowsOf(fitted[..count], widenedRows, columns, widenedGenerators, squaredNorms, assignment, alpha);
                        count = 0;
                    }
                }
                if (count > 0) FitRowsOf(fitted[..count], widenedRows, columns, widenedGenerators, squaredNorms, assignment, alpha);
                return widenedRows;
            },
            _ => { });
    }

    // Rows fitted together: their fma chains are independent, so the processor overlaps them (one chain alone waits on
    // the latency of each fma); each row's chain is still its own, over ascending p from +0.
    private const int FitRows = 4;

    private static void FitRowsOf(ReadOnlySpan<int> fitted, float[] widenedRows, int columns, float[] widenedGenerators,
        float[] squaredNorms, GeneratorAssignment assignment, float[] alpha)
    {
        if (fitted.Length < FitRows)
        {
            for (int r = 0; r < fitted.Length; r++)
                Store(fitted[r], Dot(widenedRows.AsSpan(r * columns, columns), widenedGenerators.AsSpan(assignment[fitted[r]] * columns, columns)),
                    squaredNorms, assignment, alpha);
            return;
        }
        fixed (float* rowsStart = widenedRows)
        fixed (float* generatorsStart = widenedGenerators)
        {
            float* r0 = rowsStart, r1 = r0 + columns, r2 = r1 + columns, r3 = r2 + columns;
            float* g0 = generatorsStart + (long)assignment[fitted[0]] * columns, g1 = generatorsStart + (long)assignment[fitted[1]] * columns;
            float* g2 = generatorsStart + (long)assignment[fitted[2]] * columns, g3 = generatorsStart + (long)assignment[fitted[3]] * columns;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int p = 0; p < columns; p++)
            {
                s0 = MathF.FusedMultiplyAdd(r0[p], g0[p], s0);
                s1 = MathF.FusedMultiplyAdd(r1[p], g1[p], s1);
                s2 = MathF.FusedMultiplyAdd(r2[p], g2[p], s2);
                s3 = MathF.FusedMultiplyAdd(r3[p], g3[p], s3);
            }
            Store(fitted[0], s0, squaredNorms, assignment, alpha);
            Store(fitted[1], s1, squaredNorms, assignment, alpha);
            Store(fitted[2], s2, squaredNorms, assignment, alpha);
            Store(fitted[3], s3, squaredNorms, assignment, alpha);
        }
    }

    private static void Store(int row, float dot, float[] squaredNorms, GeneratorAssignment assignment, float[] alpha)
    {
        float norm = squaredNorms[assignment[row]];
        alpha[row] = norm != 0f ? dot / norm : 0f;
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
