using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Engine;
using PammCuda.Sampling;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>
/// What uniform Philox keys (practically) never reach, forced on the emulated device by compiling the sampling kernels
/// with test defines in front of them: a shared list of one row, so that the one-block kernel's bucket overflows and
/// takes further digit passes, and keys with many ties (a few bits of the Philox key), so that all 64 bits get resolved
/// and equal keys are told apart by index, on both paths. Compared with a CPU reference that sorts (key, index) pairs.
/// </summary>
[Requires(Need.Compiler)]
public class SamplingFallbackTests
{
    private const string Unit = "pamm_sample_generators.cu";
    private const string TinyList = "#define PAMM_SAMPLE_BLOCK_LIST 1";
    private const string EightKeys = "#define PAMM_SAMPLE_KEY(seed, row) (pamm_philox_row_key(seed, row) >> 61)";
    private const string OuterNibbles = "#define PAMM_SAMPLE_KEY(seed, row) (pamm_philox_row_key(seed, row) & 0xF00000000000000Full)";

    private readonly Dictionary<string, EmulatedComputeDevice> _devices = new(StringComparer.Ordinal);

    [OneTimeTearDown]
    public void DisposeDevices()
    {
        foreach (var device in _devices.Values) device.Dispose();
    }

    private static int Block => PammKernels.SampleBlockRows;

    public static IEnumerable<TestCaseData> OverflowingList()
    {
        foreach (int rows in new[] { 2, 3, 100, 4097, Block })
            foreach (int k in new[] { 1, 2, rows / 3, rows - 1, rows }.Where(k => k >= 1 && k <= rows).Distinct())
                foreach (ulong seed in new[] { 1UL, 0xfeed_f00dUL })
                    yield return new TestCaseData(rows, k, seed);
    }

    [TestCaseSource(nameof(OverflowingList))]
    public void A_bucket_fuller_than_the_list_takes_more_digit_passes_and_picks_the_CPUs_rows(int rows, int k, ulong seed)
    {
        Assert.That(PammKernels.SamplingPathFor(rows), Is.EqualTo(SamplingPath.OneBlock));
        Assert.That(Sample(TinyList, rows, k, seed, SamplingPath.OneBlock), Is.EqualTo(GeneratorSampler.Sample(rows, k, seed)));
    }

    public static IEnumerable<TestCaseData> TiedKeys()
    {
        // Up to one block (where both paths run) and above it; one block's rows with eight distinct keys put ~1000 equal
        // keys past the list.
        foreach (int rows in new[] { 1, 7, 64, 65, 1000, Block, Block + 1, Block + 1000 })
            foreach (int k in new[] { 1, rows / 8, rows / 2 + 1, rows - 1, rows }.Where(k => k >= 1 && k <= rows).Distinct())
                yield return new TestCaseData(rows, k, (ulong)rows * 7919);
    }

    [TestCaseSource(nameof(TiedKeys))]
    public void Eight_distinct_keys_are_ranked_by_index_on_both_paths(int rows, int k, ulong seed) =>
        AssertBothPaths(EightKeys, rows, k, seed, Reference(rows, k, row => Philox4x32.RowKey(seed, row) >> 61));

    [TestCaseSource(nameof(TiedKeys))]
    public void Eight_distinct_keys_with_a_tiny_list_resolve_all_64_bits_then_rank_by_index(int rows, int k, ulong seed) =>
        AssertBothPaths(TinyList + "\n" + EightKeys, rows, k, seed, Reference(rows, k, row => Philox4x32.RowKey(seed, row) >> 61));

    [TestCaseSource(nameof(TiedKeys))]
    public void Keys_differing_only_in_their_outer_nibbles_go_through_every_digit_on_both_paths(int rows, int k, ulong seed)
    {
        // The digits between the top and the bottom nibble are all zero: every digit pass, the 4-bit last one included.
        int[] expected = Reference(rows, k, row => Philox4x32.RowKey(seed, row) & 0xF00000000000000FUL);
        AssertBothPaths(OuterNibbles, rows, k, seed, expected);
        AssertBothPaths(TinyList + "\n" + OuterNibbles, rows, k, seed, expected);
    }

    /// <summary>Both paths where one block holds b, the multi-block one above.</summary>
    private void AssertBothPaths(string defines, int rows, int k, ulong seed, int[] expected)
    {
        SamplingPath[] paths = rows <= Block ? [SamplingPath.OneBlock, SamplingPath.MultiBlock] : [SamplingPath.MultiBlock];
        Assert.Multiple(() =>
        {
            foreach (var path in paths) Assert.That(Sample(defines, rows, k, seed, path), Is.EqualTo(expected), $"{path}");
        });
    }

    /// <summary>The k rows with the smallest (key, index) pairs, ascending.</summary>
    private static int[] Reference(int rows, int k, Func<long, ulong> key)
    {
        var keys = new ulong[rows];
        var order = new int[rows];
        for (int row = 0; row < rows; row++)
        {
            keys[row] = key(row);
            order[row] = row;
        }
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : a.CompareTo(b));
        int[] chosen = order[..k];
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary>The engine's sampling launcher, on <paramref name="path"/>, on a device whose sampling kernels are compiled with <paramref name="defines"/> first.</summary>
    private int[] Sample(string defines, int rows, int k, ulong seed, SamplingPath path)
    {
        var device = DeviceWith(defines);
        using var scratch = device.Allocate<byte>(Math.Max(1, PammKernels.SamplingScratchBytes(rows, path)));
        using var generators = device.Allocate<int>(k);
        PammKernels.SampleGenerators(device.DefaultStream, scratch.Address, rows, k, seed, generators.Address, path);
        return generators.ToArray(device.DefaultStream);
    }

    private EmulatedComputeDevice DeviceWith(string defines)
    {
        if (!_devices.TryGetValue(defines, out var device))
        {
            string source = KernelSources.TranslationUnits.Single(unit => unit.Key == Unit).Value;
            device = new EmulatedComputeDevice([new(Unit, defines + "\n" + source)], KernelSources.Headers);
            _devices.Add(defines, device);
        }
        return device;
    }
}
