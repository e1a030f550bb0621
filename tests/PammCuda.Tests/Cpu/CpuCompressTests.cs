using PammCuda.Cpu;
using PammCuda.Sampling;
using static PammCuda.Tests.Cpu.CpuTestData;

namespace PammCuda.Tests.Cpu;

public class CpuCompressTests
{
    [Test]
    public void Sampled_generators_are_the_rows_the_sampler_picks_and_map_to_themselves()
    {
        const int rows = 200, columns = 12;
        float[] x = Gaussian(rows, columns, 10);
        var options = new PammOptions { Ratio = 0.1, Seed = 77 };
        var compressed = CpuPamm.Compress<float>(x, rows, columns, options);

        int[] chosen = GeneratorSampler.Sample(rows, 20, 77);
        Assert.That(compressed.K, Is.EqualTo(20));
        for (int j = 0; j < chosen.Length; j++)
        {
            Assert.That(compressed.Generators.Slice(j * columns, columns).ToArray(), Is.EqualTo(x.AsSpan(chosen[j] * columns, columns).ToArray()));
            Assert.That(compressed.AssignmentOf(chosen[j]), Is.EqualTo(j));
            Assert.That(compressed.Alpha[chosen[j]], Is.EqualTo(1f));
        }
    }

    [Test]
    public void Same_seed_gives_the_same_generators_and_another_seed_other_ones()
    {
        const int rows = 300, columns = 8;
        float[] x = Gaussian(rows, columns, 11);
        var first = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 10, Seed = 5 });
        var again = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 10, Seed = 5 });
        var other = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 10, Seed = 6 });
        Assert.That(again.Generators.ToArray(), Is.EqualTo(first.Generators.ToArray()));
        Assert.That(other.Generators.ToArray(), Is.Not.EqualTo(first.Generators.ToArray()));
    }

    [Test]
    public void Every_row_goes_to_a_generator_of_maximal_absolute_cosine_with_the_projection_coefficient()
    {
        const int rows = 240, columns = 16, k = 24;
        float[] x = Gaussian(rows, columns, 12);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = k, Seed = 3 });
        int[] generatorRows = GeneratorSampler.Sample(rows, k, 3);

        for (int i = 0; i < rows; i++)
        {
            if (generatorRows.Contains(i)) continue;
            double[] cosines = Enumerable.Range(0, k).Select(j => Math.Abs(Cosine(x, i, generatorRows[j], columns))).ToArray();
            int f = compressed.AssignmentOf(i);
            // Near-ties may go either way in float32; anything better by more than that is a wrong argmax.
            Assert.That(cosines[f], Is.GreaterThanOrEqualTo(cosines.Max() - 1e-5), $"row {i}");
            double coefficient = Dot(x, i, generatorRows[f], columns) / Dot(x, generatorRows[f], generatorRows[f], columns);
            Assert.That(compressed.Alpha[i], Is.EqualTo(coefficient).Within(1e-5 * (1 + Math.Abs(coefficient))), $"row {i}");
        }
        Assert.That(compressed.DroppedRows, Is.Zero);
        Assert.That(compressed.Beta, Is.EqualTo(1.0));
    }

    [Test]
    public void Explicit_generators_are_used_in_the_given_order_and_identical_rows_keep_their_own()
    {
        const int columns = 5;
        float[] v = [1, -2, 3, 0.5f, 4], w = [0, 1, 0, 1, 0];
        // Rows 0, 2 and 3 hold the same vector; rows 2 and 0 are both generators, row 3 is not.
        float[] x = [.. v, .. w, .. v, .. v, .. w.Select(e => -2 * e)];
        var compressed = CpuPamm.Compress<float>(x, 5, columns, new PammOptions { GeneratorIndices = [2, 1, 0] });

        Assert.That(compressed.Generators.ToArray(), Is.EqualTo(new float[][] { v, w, v }.SelectMany(r => r).ToArray()));
        Assert.That(Assignments(compressed), Is.EqualTo(new[] { 2, 1, 0, 0, 1 }));
        Assert.That(compressed.Alpha.ToArray(), Is.EqualTo(new float[] { 1, 1, 1, 1, -2 }));
    }

    [Test]
    public void Zero_rows_are_kept_with_alpha_zero_and_zero_generators_are_never_chosen()
    {
        const int columns = 3;
        float[] x = [0, 0, 0, 1, 2, 3, 0, 0, 0, 2, 4, 6, -1, 0, 1];
        // Generator 0 is the zero row 2; every other row must avoid it except the generator row itself.
        var compressed = CpuPamm.Compress<float>(x, 5, columns, new PammOptions { GeneratorIndices = [2, 1], Epsilon = 0.5 });

        Assert.That(Assignments(compressed), Is.EqualTo(new[] { 1, 1, 0, 1, 1 }));
        // Row 4 is far from the line of (1, 2, 3): csim² = 2²/(2·14) = 1/7 < 1 − 0.5², so it is dropped.
        Assert.That(compressed.Alpha.ToArray(), Is.EqualTo(new float[] { 0, 1, 1, 2, 0 }));
        Assert.That(compressed.DroppedRows, Is.EqualTo(1));
        Assert.That(compressed.Beta, Is.EqualTo(5.0 / 4.0));
    }

    [TestCase(double.PositiveInfinity, 0)]
    [TestCase(1.0, 0)]
    [TestCase(0.5, 2)]
    public void All_zero_generators_leave_nonzero_rows_a_zero_projection_kept_only_when_epsilon_is_at_least_one(double epsilon, int dropped)
    {
        float[] x = [0, 0, 3, 4, 0, 0, -1, 1];
        var compressed = CpuPamm.Compress<float>(x, 4, 2, new PammOptions { GeneratorIndices = [0], Epsilon = epsilon });
        Assert.That(Assignments(compressed), Is.EqualTo(new[] { 0, 0, 0, 0 }));
        Assert.That(compressed.Alpha.ToArray(), Is.EqualTo(new float[] { 1, 0, 0, 0 }));
        Assert.That(compressed.DroppedRows, Is.EqualTo(dropped));
    }

    [Test]
    public void One_generator_takes_every_row_with_its_projection_coefficient()
    {
        const int rows = 40, columns = 7;
        float[] x = Gaussian(rows, columns, 13);
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 1, Seed = 9 });
        int generator = GeneratorSampler.Sample(rows, 1, 9)[0];
        for (int i = 0; i < rows; i++)
        {
            Assert.That(compressed.AssignmentOf(i), Is.Zero);
            double coefficient = Dot(x, i, generator, columns) / Dot(x, generator, generator, columns);
            Assert.That(compressed.Alpha[i], Is.EqualTo(coefficient).Within(1e-5 * (1 + Math.Abs(coefficient))));
        }
    }

    [Test]
    public void A_single_row_is_its_own_generator()
    {
        var compressed = CpuPamm.Compress<float>([3, -4], 1, 2, new PammOptions());
        Assert.That(compressed.K, Is.EqualTo(1));
        Assert.That(compressed.AssignmentOf(0), Is.Zero);
        Assert.That(compressed.Alpha[0], Is.EqualTo(1f));
    }

    [TestCase(1.0)]
    [TestCase(1.5)]
    [TestCase(1e300)]
    public void Every_epsilon_of_at_least_one_equals_infinity(double epsilon)
    {
        const int rows = 150, columns = 10;
        float[] x = Gaussian(rows, columns, 14);
        var infinite = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 5, Seed = 1 });
        var finite = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { K = 5, Seed = 1, Epsilon = epsilon });
        Assert.That(finite.DroppedRows, Is.Zero);
        Assert.That(Bits(finite.Alpha), Is.EqualTo(Bits(infinite.Alpha)));
        Assert.That(Assignments(finite), Is.EqualTo(Assignments(infinite)));
    }

    // Dropped iff ‖X_i − X̃_i‖ > ε‖X_i‖, checked in double from the data; rows within 1e-6 of the
    // threshold may round either way and are only counted as possibly dropped.
    [Test]
    public void Epsilon_drops_exactly_the_rows_outside_the_neighbourhood()
    {
        const int rows = 400, columns = 32;
        const double epsilon = 0.3;
        float[] x = Clustered(rows, columns, directions: 3, noise: 0.25, seed: 15);
        var options = new PammOptions { K = 12, Seed = 4, Epsilon = epsilon };
        var compressed = CpuPamm.Compress<float>(x, rows, columns, options);
        int[] generatorRows = GeneratorSampler.Sample(rows, 12, 4);

        int surelyDropped = 0, uncertain = 0;
        for (int i = 0; i < rows; i++)
        {
            if (generatorRows.Contains(i)) continue;
            int generator = generatorRows[compressed.AssignmentOf(i)];
            double cosineSquared = Math.Pow(Cosine(x, i, generator, columns), 2);
            double margin = cosineSquared - (1 - epsilon * epsilon);
            if (Math.Abs(margin) < 1e-6) { uncertain++; continue; }
            bool dropped = margin < 0;
            if (dropped) surelyDropped++;
            Assert.That(compressed.Alpha[i] == 0f, Is.EqualTo(dropped), $"row {i}");
        }
        Assert.That(surelyDropped, Is.InRange(1, rows - 13), "the data must exercise both outcomes");
        Assert.That(compressed.DroppedRows, Is.InRange(surelyDropped, surelyDropped + uncertain));
        Assert.That(compressed.Beta, Is.EqualTo((double)rows / (rows - compressed.DroppedRows)));
    }

    [Test]
    public void Epsilon_zero_keeps_exact_power_of_two_multiples_and_drops_the_rest()
    {
        float[] c = [0.3f, -1.7f, 2.9f];
        float[] x = [.. c, .. c.Select(e => -4 * e), .. c.Select(e => 0.5f * e), 1, 1, 1];
        var compressed = CpuPamm.Compress<float>(x, 4, 3, new PammOptions { GeneratorIndices = [0], Epsilon = 0 });
        Assert.That(compressed.Alpha.ToArray(), Is.EqualTo(new float[] { 1, -4, 0.5f, 0 }));
        Assert.That(compressed.DroppedRows, Is.EqualTo(1));
    }

    [Test]
    public void NaN_rows_get_a_valid_generator_and_a_NaN_coefficient_and_NaN_generators_attract_nobody()
    {
        const int rows = 30, columns = 6;
        float[] x = Gaussian(rows, columns, 16);
        x[7 * columns + 2] = float.NaN;
        for (int c = 0; c < columns; c++) x[9 * columns + c] = float.NaN;
        x[1 * columns + 4] = float.NaN;
        // Generator 0 (row 1) holds a NaN; rows 7 and 9 hold NaN and are not generators.
        var compressed = CpuPamm.Compress<float>(x, rows, columns, new PammOptions { GeneratorIndices = [1, 3, 5, 11], Epsilon = 0.9 });

        Assert.That(Assignments(compressed), Is.All.InRange(0, 3));
        Assert.That(float.IsNaN(compressed.Alpha[7]) && float.IsNaN(compressed.Alpha[9]), Is.True);
        Assert.That(compressed.AssignmentOf(1), Is.Zero);
        Assert.That(compressed.Alpha[1], Is.EqualTo(1f));
        for (int i = 0; i < rows; i++)
            if (i is not (1 or 7 or 9)) Assert.That(compressed.AssignmentOf(i), Is.Not.Zero, $"row {i}");
    }

    [Test]
    public void Stored_bytes_follow_the_shared_rule_and_the_ratio_is_dense_over_stored()
    {
        var single = CpuPamm.Compress<float>(Gaussian(1024, 64, 17), 1024, 64, new PammOptions { Ratio = 1.0 / 64 });
        Assert.That(single.StoredBytes, Is.EqualTo(CompressedSize.StoredBytes(1024, 64, 16, DType.Float32)));
        Assert.That(single.StoredBytes, Is.EqualTo(16L * 64 * 4 + 1024L * (1 + 4) + 4));
        Assert.That(single.DenseBytes, Is.EqualTo(1024L * 64 * 4));
        Assert.That(single.CompressionRatio, Is.EqualTo((double)single.DenseBytes / single.StoredBytes));
        Assert.That(((ICompressedActivation)single).CompressionRatio, Is.EqualTo(single.CompressionRatio));

        var half = CpuPamm.Compress<Half>(Gaussian(100, 10, 18).Select(v => (Half)v).ToArray(), 100, 10, new PammOptions { K = 7 });
        Assert.That(half.DType, Is.EqualTo(DType.Float16));
        Assert.That(half.StoredBytes, Is.EqualTo(CompressedSize.StoredBytes(100, 10, 7, DType.Float16)));
        Assert.That(half.Assignment.BytesPerRow, Is.EqualTo(1));
    }

    // f takes the fewest bytes that hold k − 1: 1 up to k = 256, 2 from 257; the generator rows keep their own number.
    [TestCase(256, 1)]
    [TestCase(257, 2)]
    public void The_assignment_takes_the_fewest_bytes_that_hold_k(int k, int bytesPerRow)
    {
        int rows = k + 40;
        int[] generatorRows = [.. Enumerable.Range(0, k).Select(j => rows - 1 - j)];
        var compressed = CpuPamm.Compress<float>(Gaussian(rows, 3, 19), rows, 3, new PammOptions { GeneratorIndices = generatorRows });
        Assert.That(compressed.Assignment.BytesPerRow, Is.EqualTo(bytesPerRow));
        Assert.That(CompressedSize.AssignmentBytesPerRow(k), Is.EqualTo(bytesPerRow));
        Assert.That(Enumerable.Range(0, k).Select(j => compressed.AssignmentOf(generatorRows[j])), Is.EqualTo(Enumerable.Range(0, k)));
    }

    // k above 65 536 needs 32-bit assignments; with k = b every row is a generator, so no block computes similarities.
    [Test]
    public void More_than_65536_generators_use_32_bit_assignments()
    {
        const int rows = CompressedSize.MaxKForCompactAssignment + 3;
        var x = new BFloat16[rows];
        for (int i = 0; i < rows; i++) x[i] = (BFloat16)(i % 7 - 3f);
        var compressed = CpuPamm.Compress<BFloat16>(x, rows, 1, new PammOptions { Ratio = 1 });
        Assert.That(compressed.Assignment.BytesPerRow, Is.EqualTo(4));
        Assert.That(compressed.AssignmentOf(rows - 1), Is.EqualTo(rows - 1));
        Assert.That(compressed.StoredBytes, Is.EqualTo(CompressedSize.StoredBytes(rows, 1, rows, DType.BFloat16)));
    }

    private static double Dot(float[] x, int a, int b, int columns)
    {
        double sum = 0;
        for (int c = 0; c < columns; c++) sum += (double)x[a * columns + c] * x[b * columns + c];
        return sum;
    }

    private static double Cosine(float[] x, int a, int b, int columns) =>
        Dot(x, a, b, columns) / Math.Sqrt(Dot(x, a, a, columns) * Dot(x, b, b, columns));
}
