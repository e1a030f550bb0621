namespace PammCuda.Bench.Harness;

/// <summary>Benchmark inputs: uniform values in [-1, 1), reproducible from a seed, in any supported element type.</summary>
public static class HostData
{
    private static readonly Dictionary<(Type Type, long Length, int Seed), Array> Recent = [];

    /// <summary><paramref name="length"/> values drawn from <c>Random(seed)</c>, rounded to <typeparamref name="T"/>.</summary>
    public static T[] Uniform<T>(long length, int seed) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var random = new Random(seed);
        var values = new T[length];
        for (long i = 0; i < values.LongLength; i++)
            values[i] = ElementConvert.FromSingle<T>(2 * random.NextSingle() - 1);
        return values;
    }

    /// <summary>
    /// The values of <see cref="Uniform{T}"/>, shared by the cases of one shape: BenchmarkDotNet runs a setup per case,
    /// and drawing gigabytes again for each would take longer than measuring. Only arrays of the latest length are kept,
    /// so memory holds one shape at a time. Callers must not write to the array.
    /// </summary>
    public static T[] SharedUniform<T>(long length, int seed) where T : unmanaged
    {
        var key = (typeof(T), length, seed);
        lock (Recent)
        {
            if (Recent.TryGetValue(key, out var existing))
                return (T[])existing;
            foreach (var stale in Recent.Keys.Where(k => k.Length != length).ToList())
                Recent.Remove(stale);
            var values = Uniform<T>(length, seed);
            Recent[key] = values;
            return values;
        }
    }
}
