using System.Numerics;
using System.Runtime.InteropServices;

namespace PammCuda.Cpu;

/// <summary>
/// Step 3's argmax over one row of S: the smallest j whose score |s_j| / d_j is the largest, where a NaN score never
/// wins. It gives exactly what the scan "ascending j, replace only when strictly greater" gives, with the divisions
/// (k per row, as many as the row's similarities) done a vector at a time.
/// </summary>
internal static class SimilarityArgMax
{
    /// <summary>
    /// The winner j, or −1 when no score is a number. <paramref name="divisors"/> holds ‖C_j‖, or NaN for a generator that
    /// may never be chosen, whose score is then NaN.
    /// </summary>
    public static int Find(ReadOnlySpan<float> similarities, ReadOnlySpan<float> divisors)
    {
        int length = similarities.Length, width = Vector<float>.Count, j = 0;
        ref float s = ref MemoryMarshal.GetReference(similarities);
        ref float d = ref MemoryMarshal.GetReference(divisors);
        float best = -1f;
        int winner = -1;
        if (length >= width)
        {
            // Lane l sees j = l, l + w, … in ascending order, so each lane keeps its first maximum.
            var bestScores = new Vector<float>(-1f);
            var bestIndices = new Vector<int>(-1);
            var indices = Vector<int>.Indices;
            var step = new Vector<int>(width);
            for (; j <= length - width; j += width, indices += step)
            {
                var scores = Vector.Abs(Vector.LoadUnsafe(ref s, (nuint)j)) / Vector.LoadUnsafe(ref d, (nuint)j);
                // A comparison with NaN is false, so a NaN score never replaces anything.
                Vector<int> greater = Vector.GreaterThan(scores, bestScores);
                bestScores = Vector.ConditionalSelect(greater, scores, bestScores);
                bestIndices = Vector.ConditionalSelect(greater, indices, bestIndices);
            }
            // The row's maximum, then the smallest j among the lanes that reached it.
            for (int lane = 0; lane < width; lane++) best = Math.Max(best, bestScores[lane]);
            if (best > -1f)
            {
                winner = int.MaxValue;
                for (int lane = 0; lane < width; lane++)
                    if (bestScores[lane] == best) winner = Math.Min(winner, bestIndices[lane]);
            }
        }
        // The tail comes after every vector's j, so "strictly greater" still leaves ties to the smaller j.
        for (; j < length; j++)
        {
            float score = MathF.Abs(Unsafe(ref s, j)) / Unsafe(ref d, j);
            if (score > best)
            {
                best = score;
                winner = j;
            }
        }
        return winner;
    }

    private static float Unsafe(ref float start, int index) => System.Runtime.CompilerServices.Unsafe.Add(ref start, index);
}
