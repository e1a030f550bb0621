namespace PammCuda.Sampling;

/// <summary>
/// Uniform sampling of k distinct rows out of b without replacement: every row gets the key
/// <see cref="Philox4x32.RowKey"/>, and the k rows with the smallest keys win (ties by index).
/// Parallel, reproducible from (seed, b, k), and identical on the CPU and the GPU.
/// </summary>
public static class GeneratorSampler
{
    // Rows per parallel task when computing keys: enough Philox work to outweigh scheduling a task.
    private const int KeysPerTask = 4096;

    /// <summary>The k sampled row indices in ascending order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> &lt; 1 or <paramref name="k"/> outside [1, rows].</exception>
    public static int[] Sample(int rows, int k, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        if (k < 1 || k > rows) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {rows}].");
        var keys = new ulong[rows];
        Parallel.For(0, (int)((rows + (long)KeysPerTask - 1) / KeysPerTask), task =>
        {
            int end = (int)Math.Min(rows, (task + 1L) * KeysPerTask);
            for (int i = task * KeysPerTask; i < end; i++) keys[i] = Philox4x32.RowKey(seed, i);
        });
        return SmallestKeys(keys, k);
    }

    /// <summary>
    /// The indices of the k smallest keys, ties going to the smaller index, in ascending order: the rows whose key is
    /// below the k-th smallest key, and of the rows that hold it, the first ones. O(b) on average (a selection, not a
    /// sort of all b keys).
    /// </summary>
    internal static int[] SmallestKeys(ReadOnlySpan<ulong> keys, int k)
    {
        ulong threshold = KthSmallest(keys.ToArray(), k - 1);
        int below = 0;
        foreach (ulong key in keys)
        {
            if (key < threshold) below++;
        }
        int tiedLeft = k - below;
        var chosen = new int[k];
        int count = 0;
        for (int i = 0; i < keys.Length && count < k; i++)
        {
            if (keys[i] < threshold || (keys[i] == threshold && tiedLeft-- > 0)) chosen[count++] = i;
        }
        return chosen;
    }

    /// <summary>The value that would sit at <paramref name="rank"/> if <paramref name="values"/> were sorted (reorders them).</summary>
    internal static ulong KthSmallest(ulong[] values, int rank)
    {
        int low = 0, high = values.Length - 1;
        while (low < high)
        {
            // Hoare partition around the median of three, so that sorted or constant runs stay linear.
            int middle = low + (high - low) / 2;
            ulong pivot = MedianOfThree(values[low], values[middle], values[high]);
            int i = low, j = high;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            // Now values[low..j] <= pivot <= values[i..high], and every value between j and i equals the pivot.
            if (rank <= j) high = j;
            else if (rank >= i) low = i;
            else return pivot;
        }
        return values[rank];
    }

    private static ulong MedianOfThree(ulong a, ulong b, ulong c) =>
        a < b ? (b < c ? b : Math.Max(a, c)) : (a < c ? a : Math.Max(b, c));
}
