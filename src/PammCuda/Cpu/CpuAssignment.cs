namespace PammCuda.Cpu;

/// <summary>
/// Steps 3–5 of PAMM on the CPU: for every row, the similarities with all generators, the argmax f(i),
/// the coefficient α_i and the ε neighbourhood condition (see <see cref="CpuPamm"/> for the exact rules).
/// Rows are independent and each is computed by one thread in a fixed order, so the results do not
/// depend on the thread count.
/// </summary>
internal static unsafe class CpuAssignment
{
    // Rows scored together, so that each generator row, once in cache, serves several rows.
    private const int RowsPerBlock = 8;

    /// <summary>
    /// Fills <paramref name="assignment"/> and <paramref name="alpha"/> for every row of X (rows × columns, row-major)
    /// and returns η, the number of dropped rows. <paramref name="generators"/> is C widened to float32 (k × columns)
    /// and <paramref name="generatorRows"/> the row of X that each generator is.
    /// </summary>
    public static int Assign<T>(
        T* x, int rows, int columns, float[] generators, int[] generatorRows, double epsilon,
        GeneratorAssignment assignment, float[] alpha, ParallelOptions parallelOptions) where T : unmanaged
    {
        var context = new Context<T>(
            (nint)x, columns, generators, generatorRows.Length,
            GeneratorNorms.Compute(generators, generatorRows.Length, columns, parallelOptions),
            GeneratorOfRow(rows, generatorRows), 1.0 - epsilon * epsilon, assignment, alpha);
        int blocks = (int)(((long)rows + RowsPerBlock - 1) / RowsPerBlock);
        int dropped = 0;
        Parallel.For(0, blocks, parallelOptions,
            // float rows are read in place; other types are widened per block (blocks never exceed rows × columns).
            () => new Workspace(typeof(T) == typeof(float) ? 0 : Math.Min(RowsPerBlock, rows) * columns),
            (block, _, workspace) =>
            {
                long start = (long)block * RowsPerBlock;
                context.AssignBlock(workspace, (int)start, (int)Math.Min(RowsPerBlock, rows - start));
                return workspace;
            },
            workspace => Interlocked.Add(ref dropped, workspace.Dropped));
        return dropped;
    }

    private static int[] GeneratorOfRow(int rows, int[] generatorRows)
    {
        var generatorOfRow = new int[rows];
        Array.Fill(generatorOfRow, -1);
        for (int j = 0; j < generatorRows.Length; j++) generatorOfRow[generatorRows[j]] = j;
        return generatorOfRow;
    }

    /// <summary>Per-thread scratch: the block's rows widened to float32 and the running argmax of each row being scored.</summary>
    private sealed class Workspace(int widenedLength)
    {
        public readonly float[] WidenedRows = new float[widenedLength];
        public readonly int[] Candidates = new int[RowsPerBlock];
        public readonly float[] RowNormSquared = new float[RowsPerBlock];
        public readonly float[] BestScore = new float[RowsPerBlock];
        public readonly float[] BestDot = new float[RowsPerBlock];
        public readonly int[] Best = new int[RowsPerBlock];
        public int Dropped;
    }

    /// <summary>What every block reads (X, C, the norms) and writes (f and α of its own rows only).</summary>
    private sealed class Context<T>(
        nint x, int columns, float[] generators, int k, GeneratorNorms norms, int[] generatorOfRow,
        double keepThreshold, GeneratorAssignment assignment, float[] alpha) where T : unmanaged
    {
        public void AssignBlock(Workspace workspace, int start, int count)
        {
            int candidates = SettleTrivialRows(workspace, start, count);
            if (candidates == 0) return;
            for (int j = 0; j < k; j++)
            {
                if (!norms.IsEligible(j)) continue;
                var generator = new ReadOnlySpan<float>(generators, j * columns, columns);
                float norm = norms.Norms[j];
                for (int c = 0; c < candidates; c++)
                {
                    float dot = VectorDot.Dot(RowValues(workspace, start, workspace.Candidates[c]), generator);
                    float score = MathF.Abs(dot) / norm;
                    // Strictly greater: ties keep the smaller j, and a NaN score never replaces anything.
                    if (score > workspace.BestScore[c])
                    {
                        workspace.BestScore[c] = score;
                        workspace.BestDot[c] = dot;
                        workspace.Best[c] = j;
                    }
                }
            }
            for (int c = 0; c < candidates; c++) Finish(workspace, start + workspace.Candidates[c], c);
        }

        // Generator rows and zero rows need no similarities; the others are queued as candidates for the argmax.
        private int SettleTrivialRows(Workspace workspace, int start, int count)
        {
            int candidates = 0;
            for (int r = 0; r < count; r++)
            {
                int row = start + r;
                if (generatorOfRow[row] >= 0)
                {
                    assignment[row] = generatorOfRow[row];
                    alpha[row] = 1f;
                    continue;
                }
                if (typeof(T) != typeof(float))
                    RowConverter.ToSingle(new ReadOnlySpan<T>((T*)x + (long)row * columns, columns), workspace.WidenedRows.AsSpan(r * columns, columns));
                ReadOnlySpan<float> values = RowValues(workspace, start, r);
                float normSquared = VectorDot.Dot(values, values);
                if (normSquared == 0f)
                {
                    assignment[row] = norms.FirstEligible;
                    alpha[row] = 0f;
                    continue;
                }
                workspace.Candidates[candidates] = r;
                workspace.RowNormSquared[candidates] = normSquared;
                // Scores are ≥ 0 or NaN: any real score beats −1, and a row whose scores are all NaN keeps the first eligible generator.
                workspace.BestScore[candidates] = -1f;
                workspace.BestDot[candidates] = float.NaN;
                workspace.Best[candidates] = norms.FirstEligible;
                candidates++;
            }
            return candidates;
        }

        private void Finish(Workspace workspace, int row, int candidate)
        {
            int f = workspace.Best[candidate];
            assignment[row] = f;
            if (!norms.AnyEligible)
            {
                // X̃_i = 0, so ‖X_i − X̃_i‖ ≤ ε‖X_i‖ holds iff ε ≥ 1: csim² = 0.
                alpha[row] = 0f;
                if (0.0 < keepThreshold) workspace.Dropped++;
                return;
            }
            float dot = workspace.BestDot[candidate];
            float generatorNormSquared = norms.Squared[f];
            double cosineSquared = (double)dot * dot / ((double)workspace.RowNormSquared[candidate] * generatorNormSquared);
            // Written as "not below" so that a NaN similarity keeps the row and its NaN α reaches the output.
            if (cosineSquared < keepThreshold)
            {
                alpha[row] = 0f;
                workspace.Dropped++;
            }
            else
            {
                alpha[row] = dot / generatorNormSquared;
            }
        }

        private ReadOnlySpan<float> RowValues(Workspace workspace, int start, int r) =>
            typeof(T) == typeof(float)
                ? new ReadOnlySpan<float>((float*)x + (long)(start + r) * columns, columns)
                : new ReadOnlySpan<float>(workspace.WidenedRows, r * columns, columns);
    }
}
