using System.Runtime.InteropServices;
using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// The product's two reduction passes (<c>pamm_reduce_chunks</c>, <c>pamm_reduce_groups</c>) against the order of sums
/// they promise, to the bit: B̃_j = Σ over the chunks of 32 sorted positions that group j touches, in chunk order from +0,
/// of the chunk's piece, itself Σ α_i·G_i over the group's positions in the chunk, in sorted order from +0 (each
/// product and each sum rounded). Groups that span chunks, empty groups, tails of chunks and of the 128-bit column
/// runs, every gradient dtype and bfloat16 α.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class ReductionKernelTests(string deviceName) : DeviceFixture(deviceName)
{
    // (rows, k, columns): one row; a chunk's tail; groups spanning several chunks and empty groups (k > distinct keys);
    // columns that are and are not a multiple of the 4 or 8 elements of a 128-bit load; at 1000 rows a group of about
    // 21 chunks, more than the second pass loads at once (PAMM_REDUCE_GROUP_LOADS, 16).
    private static readonly (int Rows, int K, int Columns)[] Shapes = [(1, 1, 1), (37, 5, 8), (300, 7, 13), (257, 40, 64), (1000, 3, 1030)];

    [TestCaseSource(nameof(Shapes))]
    public void Float32_gradients_sum_in_the_promised_order((int Rows, int K, int Columns) shape) =>
        AssertReduced<float>(DType.Float32, shape, alphaType: DType.Float32);

    [TestCaseSource(nameof(Shapes))]
    public void BFloat16_gradients_sum_in_the_promised_order((int Rows, int K, int Columns) shape) =>
        AssertReduced<BFloat16>(DType.BFloat16, shape, alphaType: DType.Float32);

    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void BFloat16_alpha_is_widened_and_summed_in_the_same_order(DType gradientType)
    {
        var shape = (Rows: 300, K: 7, Columns: 24);
        if (gradientType == DType.Float16) AssertReduced<Half>(gradientType, shape, alphaType: DType.BFloat16);
        else AssertReduced<BFloat16>(gradientType, shape, alphaType: DType.BFloat16);
    }

    [Test]
    public void Groups_before_the_first_key_and_after_the_last_are_empty_and_start_where_the_next_does()
    {
        // Keys 3 (10 rows), 4 (40 rows, across chunks) and 6 (20 rows) of k = 9: groups 0-2, 5, 7 and 8 are empty.
        int[] keys = [.. Enumerable.Repeat(3, 10), .. Enumerable.Repeat(4, 40), .. Enumerable.Repeat(6, 20)];
        AssertReduced<float>(DType.Float32, (Rows: 70, K: 9, Columns: 12), DType.Float32, keys);
    }

    private void AssertReduced<TG>(DType gradientType, (int Rows, int K, int Columns) shape, DType alphaType, int[]? sortedKeys = null)
        where TG : unmanaged
    {
        var (rows, k, columns) = shape;
        var random = new Random(rows + k + columns);
        // Keys sorted ascending, skipping some generators (empty groups) and piling rows on others (groups across chunks).
        int[] keys = sortedKeys ?? Enumerable.Range(0, rows).Select(_ => random.Next(k) / 2 * 2 % k).Order().ToArray();
        int[] sortedRows = Enumerable.Range(0, rows).OrderBy(_ => random.Next()).ToArray();
        float[] alpha = EngineTestData.Random<float>(1, rows, 3);
        TG[] gradient = EngineTestData.Random<TG>(rows, columns, 4);
        float[] alphaUsed = alphaType == DType.BFloat16 ? alpha.Select(a => (float)(BFloat16)a).ToArray() : alpha;
        float[] expected = Reference(keys, sortedRows, alphaUsed, gradient.Select(ElementConvert.ToSingle).ToArray(), shape);

        using var keysBuffer = Upload(keys);
        using var rowsBuffer = Upload(sortedRows);
        // α as the compression stores it: float32, or rounded to bfloat16.
        using var alphaBuffer = Upload(alphaType == DType.BFloat16
            ? MemoryMarshal.AsBytes(alpha.Select(a => (BFloat16)a).ToArray().AsSpan()).ToArray()
            : MemoryMarshal.AsBytes(alpha.AsSpan()).ToArray());
        using var gradientBuffer = Upload(gradient);
        using var partials = Device.Allocate<float>(PammKernels.ReducePieces(rows, k) * columns);
        using var reduced = Device.Allocate<float>((long)k * columns);
        using var scalars = Device.Allocate<float>(3);
        var stream = Device.DefaultStream;
        using var groupStarts = Device.Allocate<int>(k + 1);
        // Only the reductions run: the batch's output is never written.
        var batch = ProductBatch.One(gradientBuffer.Address, columns, output: 0);
        PammKernels.ReduceChunks(stream, gradientType, alphaType, keysBuffer.Address, rowsBuffer.Address, rows, alphaBuffer.Address,
            batch, partials.Address, k, groupStarts.Address);
        PammKernels.ReduceGroups(stream, groupStarts.Address, rows, partials.Address, batch, k, reduced.Address, 0, 1f, 0f, scalars.Address);
        float[] actual = reduced.ToArray(stream);
        // Where each group starts: the first position whose key is at least j (an empty group starts where the next does).
        int[] expectedStarts = [.. Enumerable.Range(0, k + 1).Select(j => keys.Count(key => key < j))];
        Assert.That(groupStarts.ToArray(stream), Is.EqualTo(expectedStarts), "group starts");

        var wrong = Enumerable.Range(0, expected.Length)
            .Where(i => BitConverter.SingleToUInt32Bits(actual[i]) != BitConverter.SingleToUInt32Bits(expected[i]))
            .Select(i => $"B̃[{i / columns}, {i % columns}] = {actual[i]:R}, expected {expected[i]:R}")
            .Take(5).ToList();
        Assert.That(wrong, Is.Empty);
    }

    private static float[] Reference(int[] keys, int[] sortedRows, float[] alpha, float[] gradient, (int Rows, int K, int Columns) shape)
    {
        var (rows, k, columns) = shape;
        int chunk = PammKernels.ReduceChunk;
        var reduced = new float[k * columns];
        for (int j = 0; j < k; j++)
        {
            int begin = Array.IndexOf(keys, j);
            if (begin < 0) continue; // an empty group: B̃_j = 0
            int end = Array.LastIndexOf(keys, j) + 1;
            for (int q = 0; q < columns; q++)
            {
                float sum = 0f;
                for (int first = begin / chunk * chunk; first < end; first += chunk)
                {
                    float piece = 0f;
                    for (int position = Math.Max(first, begin); position < Math.Min(first + chunk, end); position++)
                    {
                        int row = sortedRows[position];
                        piece += alpha[row] * gradient[row * columns + q];
                    }
                    sum += piece;
                }
                reduced[j * columns + q] = sum;
            }
        }
        return reduced;
    }
}
