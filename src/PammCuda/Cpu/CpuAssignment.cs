using System.Buffers;

namespace PammCuda.Cpu;

/// <summary>
/// Steps 3–5 of PAMM on the CPU: for every row, the similarities with all generators, the argmax f(i),
/// the coefficient α_i and the ε neighbourhood condition (see <see cref="CpuPamm"/> for the exact rules).
/// The similarities of a block of rows are one <see cref="CpuGemmNT"/> product with the packed generators; rows are
/// independent and every value is computed in an order fixed by the data alone, so the results do not depend on the
/// thread count.
/// </summary>
internal static unsafe class CpuAssignment
{
    // Rows per task: S of a block stays in L2 between the product and the argmax.
    private const int RowsPerBlock = CpuGemmNT.RowsPerTask;

    // Generators per slice of S: a multiple of every panel width, and a bound on S (RowsPerBlock × 1024 floats,
    // 384 KiB a thread) however large k is.
    private const int GeneratorsPerSlice = 1024;

    /// <summary>
    /// Fills <paramref name="assignment"/> and <paramref name="alpha"/> for every row of X (rows × columns, row-major)
    /// and returns η, the number of dropped rows. <paramref name="generators"/> is C packed for the product
    /// and <paramref name="generatorRows"/> the row of X that each generator is.
    /// </summary>
    public static int Assign<T>(
        T* x, int rows, int columns, GemmPanels generators, int[] generatorRows, double epsilon,
        GeneratorAssignment assignment, float[] alpha, ParallelOptions parallelOptions) where T : unmanaged
    {
        var context = new Context<T>(
            (nint)x, columns, generators, GeneratorNorms.Of(generators),
            GeneratorOfRow(rows, generatorRows), 1.0 - epsilon * epsilon, assignment, alpha);
        int blocks = (int)(((long)rows + RowsPerBlock - 1) / RowsPerBlock);
        int dropped = 0;
        CpuParallel.For(blocks, parallelOptions,
            () => new Workspace(generators, typeof(T) == typeof(float) ? 0 : Math.Min(RowsPerBlock, rows)),
            (block, workspace) =>
            {
                long start = (long)block * RowsPerBlock;
                context.AssignBlock(workspace, (int)start, (int)Math.Min(RowsPerBlock, rows - start));
                return workspace;
            },
            workspace =>
            {
                Interlocked.Add(ref dropped, workspace.Dropped);
                workspace.Return();
            });
        return dropped;
    }

    private static int[] GeneratorOfRow(int rows, int[] generatorRows)
    {
        var generatorOfRow = new int[rows];
        Array.Fill(generatorOfRow, -1);
        for (int j = 0; j < generatorRows.Length; j++) generatorOfRow[generatorRows[j]] = j;
        return generatorOfRow;
    }

    /// <summary>Per-thread scratch: the product's workspace (with the block widened to float32), the block's S and its row norms.</summary>
    private sealed class Workspace(GemmPanels generators, int widenedRows)
    {
        public readonly CpuGemmNT.GemmWorkspace Gemm = new(generators.Width, generators.Depth, widenedRows);
        // Rented: fresh arrays of this size would land on the large object heap on every call and bring on full collections.
        public readonly float[] Similarities = ArrayPool<float>.Shared.Rent(RowsPerBlock * Math.Min(GeneratorsPerSlice, generators.Columns));
        public readonly float[] RowNormSquared = new float[RowsPerBlock];
        public readonly float[] BestScore = new float[RowsPerBlock];
        public readonly int[] Best = new int[RowsPerBlock];
        public readonly float[] BestDot = new float[RowsPerBlock];
        public int Dropped;

        public void Return()
        {
            Gemm.Return();
            ArrayPool<float>.Shared.Return(Similarities);
        }
    }

    /// <summary>What every block reads (X, C, the norms) and writes (f and α of its own rows only).</summary>
    private sealed class Context<T>(
        nint x, int columns, GemmPanels generators, GeneratorNorms norms, int[] generatorOfRow,
        double keepThreshold, GeneratorAssignment assignment, float[] alpha) where T : unmanaged
    {
        private readonly int k = generators.Columns;

        public void AssignBlock(Workspace workspace, int start, int count)
        {
            fixed (float* rowsOfX = workspace.Gemm.AsSingle((T*)x + (long)start * columns, count, columns))
                AssignBlock(workspace, start, count, rowsOfX);
        }

        private void AssignBlock(Workspace workspace, int start, int count, float* rowsOfX)
        {
            fixed (float* rowNormSquared = workspace.RowNormSquared)
                CpuGemmNT.SquaredNorms(rowsOfX, columns, count, columns, rowNormSquared);
            // Scores are ≥ 0 or NaN: any real score beats −1, and a row whose scores are all NaN keeps −1.
            workspace.BestScore.AsSpan(0, count).Fill(-1f);
            workspace.Best.AsSpan(0, count).Fill(-1);
            // S a slice of generators at a time, in ascending j; a later slice replaces the best only when strictly
            // greater, so ties still go to the smallest j. Generator and zero rows need no similarities: too rare among
            // a block's rows for skipping them one by one to pay, but a block of nothing else (k near b) skips S.
            int panelsPerSlice = GeneratorsPerSlice / generators.PanelWidth;
            int panelsToScore = NeedsSimilarities(workspace, start, count) ? generators.Panels : 0;
            for (int firstPanel = 0; firstPanel < panelsToScore; firstPanel += panelsPerSlice)
            {
                int panels = Math.Min(panelsPerSlice, generators.Panels - firstPanel);
                int first = firstPanel * generators.PanelWidth, width = Math.Min(panels * generators.PanelWidth, k - first);
                fixed (float* similarities = workspace.Similarities)
                    CpuGemmNT.MultiplyRows(rowsOfX, columns, count, generators, firstPanel, panels, similarities, width, workspace.Gemm);
                ReadOnlySpan<float> divisors = norms.Divisors.AsSpan(first, width);
                for (int r = 0; r < count; r++)
                {
                    var similarity = new ReadOnlySpan<float>(workspace.Similarities, r * width, width);
                    int f = SimilarityArgMax.Find(similarity, divisors);
                    if (f < 0) continue;
                    float score = MathF.Abs(similarity[f]) / divisors[f];
                    if (score > workspace.BestScore[r])
                    {
                        workspace.BestScore[r] = score;
                        workspace.Best[r] = first + f;
                        workspace.BestDot[r] = similarity[f];
                    }
                }
            }
            for (int r = 0; r < count; r++)
            {
                int row = start + r;
                // A generator row is its own generator with α = 1 exactly, by its index and not by its similarities,
                // so rounding can neither move it to another generator nor drop it.
                if (generatorOfRow[row] >= 0)
                {
                    assignment[row] = generatorOfRow[row];
                    alpha[row] = 1f;
                    continue;
                }
                float normSquared = workspace.RowNormSquared[r];
                if (normSquared == 0f)
                {
                    assignment[row] = norms.FirstEligible;
                    alpha[row] = 0f;
                    continue;
                }
                int f = workspace.Best[r];
                // A row whose scores are all NaN keeps the first eligible generator and a NaN α.
                Finish(workspace, row, f >= 0 ? f : norms.FirstEligible, f >= 0 ? workspace.BestDot[r] : float.NaN, normSquared);
            }
        }

        private bool NeedsSimilarities(Workspace workspace, int start, int count)
        {
            for (int r = 0; r < count; r++)
                if (generatorOfRow[start + r] < 0 && workspace.RowNormSquared[r] != 0f) return true;
            return false;
        }

        private void Finish(Workspace workspace, int row, int f, float dot, float rowNormSquared)
        {
            assignment[row] = f;
            if (!norms.AnyEligible)
            {
                // X̃_i = 0, so ‖X_i − X̃_i‖ ≤ ε‖X_i‖ holds iff ε ≥ 1: csim² = 0.
                alpha[row] = 0f;
                if (0.0 < keepThreshold) workspace.Dropped++;
                return;
            }
            float generatorNormSquared = norms.Squared[f];
            double cosineSquared = (double)dot * dot / ((double)rowNormSquared * generatorNormSquared);
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
    }
}
