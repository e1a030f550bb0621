using System.Collections.Concurrent;

namespace PammCuda.Bench.Harness;

/// <summary>
/// What benchmarks record for the custom columns while BenchmarkDotNet runs them in this process: device
/// times per invocation and the stored size of the compressed form. Static because BenchmarkDotNet creates
/// the benchmark objects itself; in-process toolchains make it visible to the columns afterwards.
/// </summary>
public static class CaseRecords
{
    private static readonly ConcurrentDictionary<CaseKey, List<double>> DeviceMilliseconds = new();
    private static readonly ConcurrentDictionary<ShapeKey, CompressionRecord> Compressions = new();

    /// <summary>The list that device times (ms, one per invocation, in order) of <paramref name="key"/> go to.</summary>
    public static List<double> DeviceTimes(CaseKey key) => DeviceMilliseconds.GetOrAdd(key, _ => []);

    /// <summary>Device times recorded for <paramref name="key"/>, or null when none were.</summary>
    public static IReadOnlyList<double>? RecordedDeviceTimes(CaseKey key) =>
        DeviceMilliseconds.TryGetValue(key, out var times) ? times : null;

    /// <summary>Records what the compressed form of <paramref name="shape"/> keeps.</summary>
    public static void RecordCompression(ShapeKey shape, ICompressedActivation compressed)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        Compressions[shape] = new CompressionRecord(compressed.StoredBytes, compressed.CompressionRatio);
    }

    /// <summary>The compression recorded for <paramref name="shape"/>, or null.</summary>
    public static CompressionRecord? Compression(ShapeKey shape) =>
        Compressions.TryGetValue(shape, out var record) ? record : null;
}

/// <summary>Sizes read off a compressed activation.</summary>
/// <param name="StoredBytes"><see cref="ICompressedActivation.StoredBytes"/>.</param>
/// <param name="CompressionRatio"><see cref="ICompressedActivation.CompressionRatio"/>.</param>
public sealed record CompressionRecord(long StoredBytes, double CompressionRatio);
