namespace PammCuda.Sampling;

/// <summary>
/// Uniform sampling of k distinct rows out of b without replacement: every row gets the key
/// <see cref="Philox4x32.RowKey"/>, and the k rows with the smallest keys win (ties by index).
/// Parallel, reproducible from (seed, b, k), and identical on the CPU and the GPU.
/// </summary>
public static class GeneratorSampler
{
    /// <summary>The k sampled row indices in ascending order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> &lt; 1 or <paramref name="k"/> outside [1, rows].</exception>
    public static int[] Sample(int rows, int k, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}].");
        var keys = new ulong[rows];
        var order = new int[rows];
        Parallel.For(0, rows, i => { keys[i] = Philox4x32.RowKey(seed, i); order[i] = i; });
        // (key, index) pairs are distinct, so an unstable sort still gives one well-defined answer.
        Array.Sort(keys, order);
        FixTies(keys, order);
        var chosen = order.AsSpan(0, k).ToArray();
        Array.Sort(chosen);
        return chosen;
    }

    private static void FixTies(ulong[] keys, int[] order)
    {
        for (int start = 0; start < keys.Length;)
        {
            int end = start + 1;
            while (end < keys.Length && keys[end] == keys[start]) end++;
            if (end - start > 1) Array.Sort(order, start, end - start);
            start = end;
        }
    }
}
