using System.Runtime.InteropServices;
using PammCuda.Cpu;
using PammCuda.Engine;

namespace PammCuda.Tests.Cpu;

/// <summary>
/// α stored as bfloat16 (<see cref="PammOptions.AlphaType"/>): the float32 coefficients rounded to nearest-even, 2 bytes a
/// row in the storage and in the byte count, and a product within the rounding's bound of the float32-α product.
/// </summary>
public class CpuBFloat16AlphaTests
{
    private const int Rows = 600, Columns = 24, K = 16, GradientColumns = 7;
    private static readonly PammOptions Float32Alpha = new() { K = K, Seed = 4, Epsilon = 0.9 };
    private static readonly PammOptions BFloat16Alpha = Float32Alpha with { AlphaType = DType.BFloat16 };

    [Test]
    public void Alpha_is_the_float32_alpha_rounded_and_everything_else_is_unchanged()
    {
        var x = CpuTestData.Gaussian(Rows, Columns, 1);
        var wide = CpuPamm.Compress<float>(x, Rows, Columns, Float32Alpha);
        var narrow = CpuPamm.Compress<float>(x, Rows, Columns, BFloat16Alpha);
        Assert.Multiple(() =>
        {
            Assert.That(narrow.AlphaType, Is.EqualTo(DType.BFloat16));
            Assert.That(narrow.Alpha.ToArray(), Is.EqualTo(wide.Alpha.ToArray().Select(a => (float)(BFloat16)a)));
            Assert.That(narrow.Alpha.ToArray(), Is.Not.EqualTo(wide.Alpha.ToArray()), "some α needs more than 8 significant bits");
            Assert.That(narrow.Generators.ToArray(), Is.EqualTo(wide.Generators.ToArray()));
            Assert.That(Enumerable.Range(0, Rows).Select(narrow.AssignmentOf), Is.EqualTo(Enumerable.Range(0, Rows).Select(wide.AssignmentOf)));
            Assert.That(narrow.DroppedRows, Is.EqualTo(wide.DroppedRows).And.Positive);
            // f in 8 bits (k ≤ 256) and α in 2 bytes instead of 4.
            Assert.That(narrow.StoredBytes, Is.EqualTo(wide.StoredBytes - 2L * Rows));
            Assert.That(narrow.StoredBytes, Is.EqualTo((long)K * Columns * 4 + Rows * (1 + 2) + 4));
        });
    }

    [Test]
    public void Storage_holds_two_bytes_of_alpha_a_row_and_reads_back()
    {
        var x = CpuTestData.Gaussian(Rows, Columns, 2);
        var layout = CompressedStorageLayout.For(Rows, Columns, K, DType.Float32, DType.BFloat16);
        var storage = new byte[layout.TotalBytes];
        var written = CpuPamm.CompressInto<float>(x, Rows, Columns, BFloat16Alpha, storage);
        var read = CpuPamm.ReadCompressed<float>(storage, Rows, Columns, K, DType.BFloat16);
        var stored = MemoryMarshal.Cast<byte, BFloat16>(storage.AsSpan((int)layout.AlphaOffset, Rows * 2)).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(layout.AlphaBytes, Is.EqualTo(2L * Rows));
            Assert.That(layout.AssignmentOffset - layout.AlphaOffset, Is.EqualTo(1280), "α's 1200 bytes, aligned to 256");
            Assert.That(stored.Select(a => (float)a), Is.EqualTo(written.Alpha.ToArray()));
            Assert.That(read.Alpha.ToArray(), Is.EqualTo(written.Alpha.ToArray()));
            Assert.That(read.AlphaType, Is.EqualTo(DType.BFloat16));
            Assert.That(Enumerable.Range(0, Rows).Select(read.AssignmentOf), Is.EqualTo(Enumerable.Range(0, Rows).Select(written.AssignmentOf)));
        });
    }

    [Test]
    public void The_product_moves_by_at_most_the_rounding_of_alpha()
    {
        var x = CpuTestData.Gaussian(Rows, Columns, 3);
        var g = CpuTestData.Gaussian(Rows, GradientColumns, 4);
        var wide = CpuPamm.Compress<float>(x, Rows, Columns, Float32Alpha with { Epsilon = double.PositiveInfinity });
        var narrow = CpuPamm.Compress<float>(x, Rows, Columns, BFloat16Alpha with { Epsilon = double.PositiveInfinity });
        var productWide = new float[Columns * GradientColumns];
        var productNarrow = new float[Columns * GradientColumns];
        CpuPamm.ApproxMatmul<float, float, float>(wide, g, GradientColumns, productWide);
        CpuPamm.ApproxMatmul<float, float, float>(narrow, g, GradientColumns, productNarrow);
        // Each α_i moves by at most 2⁻⁸|α_i|, so each entry of Cᵀ B̃ moves by at most 2⁻⁸ Σ_i |α_i| |C_f(i)·| |G_i·| (plus float32 noise).
        for (int column = 0; column < Columns; column++)
            for (int gc = 0; gc < GradientColumns; gc++)
            {
                double bound = 0;
                for (int i = 0; i < Rows; i++)
                    bound += Math.Abs(wide.Alpha[i] * wide.Generators[wide.AssignmentOf(i) * Columns + column] * g[i * GradientColumns + gc]);
                int at = column * GradientColumns + gc;
                Assert.That(Math.Abs(productNarrow[at] - productWide[at]), Is.LessThanOrEqualTo(bound / 256 + 1e-4 * (1 + bound)), $"({column}, {gc})");
            }
    }

    [Test]
    public void Only_float32_and_bfloat16_are_accepted_naming_the_option()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new PammOptions { AlphaType = DType.Float16 }.ResolveK(100),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo(nameof(PammOptions.AlphaType)));
            Assert.That(() => CpuPamm.Compress<float>(new float[40], 10, 4, new PammOptions { AlphaType = (DType)9 }),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo(nameof(PammOptions.AlphaType)));
            Assert.That(() => CompressedStorageLayout.For(10, 4, 2, DType.Float32, DType.Float16),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alphaType"));
            Assert.That(() => PammEngine.CompressedStorageBytes(10, 4, 2, DType.Float32, DType.Float16),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alphaType"));
        });
    }
}
