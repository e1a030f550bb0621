using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// The product's last stage, <c>pamm_expand</c>: <c>out = round(a·β ⊗ Σ_j L[j,p]·R[j,q] ⊕ c ⊗ out)</c> with (L, R) = (C, B̃)
/// for the n × m layout and (B̃, C) for m × n, C read in its own dtype, each sum one fused multiply-add chain over j
/// ascending from +0. Its result is defined to the bit, so it is checked to the bit against that chain computed here with
/// <see cref="MathF.FusedMultiplyAdd"/>: every generator dtype (an argument of the kernel) and output dtype (its instance),
/// both layouts, tile edges, with and without the 128-bit stores, and the old output read only when c ≠ 0.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class ExpandKernelTests(string deviceName) : DeviceFixture(deviceName)
{
    private const float ProductScale = 1.75f;

    // (rows, columns, k) of the output: one element; tails of the 64 × 128 tile and of the 16-step stage; exactly one
    // tile; several tiles with rows of 8 (vector stores) and of 33 or 300 columns (element stores for some or all dtypes).
    private static readonly (int Rows, int Columns, int K)[] Shapes =
        [(1, 1, 1), (7, 33, 5), (64, 128, 16), (65, 129, 17), (130, 256, 40), (70, 300, 3)];

    [TestCaseSource(nameof(Shapes))]
    public void Float32_output_is_the_fused_chain_bit_for_bit((int Rows, int Columns, int K) shape) =>
        AssertExpanded<float, float>(ProductLayout.InputByGradient, shape, c: 0f);

    [TestCaseSource(nameof(Shapes))]
    public void Float16_output_is_the_fused_chain_rounded_once((int Rows, int Columns, int K) shape) =>
        AssertExpanded<float, Half>(ProductLayout.InputByGradient, shape, c: 0f);

    [TestCaseSource(nameof(Shapes))]
    public void BFloat16_output_is_the_fused_chain_rounded_once((int Rows, int Columns, int K) shape) =>
        AssertExpanded<float, BFloat16>(ProductLayout.InputByGradient, shape, c: 0f);

    [TestCase(ProductLayout.InputByGradient)]
    [TestCase(ProductLayout.GradientByInput)]
    public void Sixteen_bit_generators_are_read_as_they_are_in_both_layouts(ProductLayout layout)
    {
        var shape = (Rows: 65, Columns: 136, K: 20);
        AssertExpanded<BFloat16, float>(layout, shape, c: 0f);
        AssertExpanded<BFloat16, BFloat16>(layout, shape, c: 0f);
        AssertExpanded<Half, Half>(layout, shape, c: 0f);
        AssertExpanded<Half, float>(layout, (Rows: 7, Columns: 33, K: 5), c: 0f);
        AssertExpanded<float, BFloat16>(layout, shape, c: 0f);
    }

    [Test]
    public void The_old_output_is_weighted_by_c()
    {
        var shape = (Rows: 65, Columns: 136, K: 20);
        AssertExpanded<float, float>(ProductLayout.InputByGradient, shape, c: -0.625f);
        AssertExpanded<BFloat16, Half>(ProductLayout.GradientByInput, shape, c: -0.625f);
        AssertExpanded<Half, BFloat16>(ProductLayout.InputByGradient, shape, c: -0.625f);
    }

    [Test]
    public void With_c_zero_a_NaN_in_the_old_output_does_not_leak()
    {
        var shape = (Rows: 9, Columns: 24, K: 4);
        AssertExpanded<float, float>(ProductLayout.InputByGradient, shape, c: 0f, old: Filled(shape, float.NaN));
        AssertExpanded<BFloat16, BFloat16>(ProductLayout.GradientByInput, shape, c: 0f, old: Filled(shape, (BFloat16)float.NaN));
    }

    [Test]
    public void An_output_off_the_16_byte_boundary_gets_the_same_bits()
    {
        // Rows of 128 elements would take 128-bit stores; one element past an aligned base, the kernel must store element by element.
        var shape = (Rows: 66, Columns: 128, K: 9);
        AssertExpanded<float, float>(ProductLayout.InputByGradient, shape, c: 0.5f, offsetElements: 1);
        AssertExpanded<BFloat16, BFloat16>(ProductLayout.GradientByInput, shape, c: 0.5f, offsetElements: 1);
    }

    [Test]
    public void A_generator_dtype_the_kernel_cannot_read_is_refused_before_a_launch()
    {
        // C's dtype reaches the kernel as a code it switches on; an undefined one must not be read as bfloat16.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => PammKernels.Expand(Device.DefaultStream, 0, (DType)3, 0, 1, 1,
            ProductBatch.One(0, 1, 0), ProductLayout.InputByGradient, 0, DType.Float32));
        Assert.That(error!.ParamName, Is.EqualTo("generatorType"));
    }

    private void AssertExpanded<TG, T>(ProductLayout layout, (int Rows, int Columns, int K) shape, float c, int offsetElements = 0, T[]? old = null)
        where TG : unmanaged where T : unmanaged
    {
        // The output is n × m (C's n columns are its rows) or m × n.
        var (n, m) = layout == ProductLayout.InputByGradient ? (shape.Rows, shape.Columns) : (shape.Columns, shape.Rows);
        TG[] generators = EngineTestData.Random<TG>(shape.K, n, 1 + n);
        float[] reduced = EngineTestData.Random<float>(shape.K, m, 2 + m);
        float[] wideGenerators = generators.Select(ElementConvert.ToSingle).ToArray();
        var (left, right) = layout == ProductLayout.InputByGradient ? (wideGenerators, reduced) : (reduced, wideGenerators);
        old ??= EngineTestData.Random<T>(shape.Rows, shape.Columns, 7);
        T[] expected = Reference(left, right, shape, c, old.Select(ElementConvert.ToSingle).ToArray()).Select(ElementConvert.FromSingle<T>).ToArray();

        using var generatorBuffer = Upload(generators);
        using var reducedBuffer = Upload(reduced);
        using var scalars = Upload(new[] { ProductScale, c, 0f });
        using var output = Device.Allocate<T>(old.Length + offsetElements);
        output.CopyFrom([.. new T[offsetElements], .. old]);
        ulong target = output.Address + (ulong)(offsetElements * Marshal.SizeOf<T>());
        PammKernels.Expand(Device.DefaultStream, generatorBuffer.Address, DTypes.Of<TG>(), reducedBuffer.Address, shape.K, n,
            ProductBatch.One(0, m, target), layout, scalars.Address, DTypes.Of<T>());
        T[] actual = output.ToArray(Device.DefaultStream)[offsetElements..];

        var wrong = Enumerable.Range(0, expected.Length)
            .Where(i => !EqualBits(actual[i], expected[i]))
            .Select(i => $"({i / shape.Columns}, {i % shape.Columns}): {ElementConvert.ToSingle(actual[i]):R}, expected {ElementConvert.ToSingle(expected[i]):R}")
            .Take(5).ToList();
        Assert.That(wrong, Is.Empty, $"C {typeof(TG).Name}, output {typeof(T).Name}, {layout}");
    }

    // The kernel's definition: one fused chain per element from +0, then ⊗ a·β, then ⊕ c ⊗ old when c ≠ 0 (in float32; the caller rounds).
    private static float[] Reference(float[] left, float[] right, (int Rows, int Columns, int K) shape, float c, float[] old)
    {
        var result = new float[shape.Rows * shape.Columns];
        for (int p = 0; p < shape.Rows; p++)
            for (int q = 0; q < shape.Columns; q++)
            {
                float sum = 0f;
                for (int j = 0; j < shape.K; j++) sum = MathF.FusedMultiplyAdd(left[j * shape.Rows + p], right[j * shape.Columns + q], sum);
                float value = ProductScale * sum;
                if (c != 0f) value += c * old[p * shape.Columns + q];
                result[p * shape.Columns + q] = value;
            }
        return result;
    }

    private static T[] Filled<T>((int Rows, int Columns, int K) shape, T value) => Enumerable.Repeat(value, shape.Rows * shape.Columns).ToArray();

    private static bool EqualBits<T>(T a, T b) where T : unmanaged =>
        MemoryMarshal.AsBytes(new[] { a }.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(new[] { b }.AsSpan()));
}
