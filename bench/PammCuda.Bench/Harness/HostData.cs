namespace PammCuda.Bench.Harness;

/// <summary>Benchmark inputs: uniform values in [-1, 1), reproducible from a seed, in any supported element type.</summary>
public static class HostData
{
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
}
