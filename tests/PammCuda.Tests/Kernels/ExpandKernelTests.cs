using PammCuda.Cpu;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// The product's last stage, <c>pamm_expand</c>: <c>out = round(a·β ⊗ Σ_j L[j,p]·R[j,q] ⊕ c ⊗ out)</c>, each sum one
/// fused multiply-add chain over j ascending from +0. Its result is defined to the bit, so it is checked to the bit against
/// that chain computed here with <see cref="MathF.FusedMultiplyAdd"/>, in every output dtype, across tile edges, with and
/// without the 128-bit stores, and with the old output read only when c ≠ 0.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class ExpandKernelTests(string deviceName) : DeviceFixture(deviceName)
{
    private const float ProductScale = 1.75f;

    // (rows, columns, inner): one element; tails of the 64 × 128 tile and of the 16-step stage; exactly one tile; several
    // tiles with rows of 8 (vector stores) and of 33 or 300 columns (element stores for some or all dtypes).
    private static readonly (int Rows, int Columns, int Inner)[] Shapes =
        [(1, 1, 1), (7, 33, 5), (64, 128, 16), (65, 129, 17), (130, 256, 40), (70, 300, 3)];

    [TestCaseSource(nameof(Shapes))]
    public void Float32_output_is_the_fused_chain_bit_for_bit((int Rows, int Columns, int Inner) shape) =>
        AssertExpanded<float>(DType.Float32, shape, c: 0f);

    [TestCaseSource(nameof(Shapes))]
    public void Float16_output_is_the_fused_chain_rounded_once((int Rows, int Columns, int Inner) shape) =>
        AssertExpanded<Half>(DType.Float16, shape, c: 0f);

    [TestCaseSource(nameof(Shapes))]
    public void BFloat16_output_is_the_fused_chain_rounded_once((int Rows, int Columns, int Inner) shape) =>
        AssertExpanded<BFloat16>(DType.BFloat16, shape, c: 0f);

    [TestCase(DType.Float32)]
    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void The_old_output_is_weighted_by_c(DType dtype)
    {
        var shape = (Rows: 65, Columns: 136, Inner: 20);
        if (dtype == DType.Float32) AssertExpanded<float>(dtype, shape, c: -0.625f);
        else if (dtype == DType.Float16) AssertExpanded<Half>(dtype, shape, c: -0.625f);
        else AssertExpanded<BFloat16>(dtype, shape, c: -0.625f);
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.BFloat16)]
    public void With_c_zero_a_NaN_in_the_old_output_does_not_leak(DType dtype)
    {
        var shape = (Rows: 9, Columns: 24, Inner: 4);
        if (dtype == DType.Float32) AssertExpanded(dtype, shape, c: 0f, old: Filled(shape, float.NaN));
        else AssertExpanded(dtype, shape, c: 0f, old: Filled(shape, (BFloat16)float.NaN));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.BFloat16)]
    public void An_output_off_the_16_byte_boundary_gets_the_same_bits(DType dtype)
    {
        // Rows of 128 elements would take 128-bit stores; one element past an aligned base, the kernel must store element by element.
        var shape = (Rows: 66, Columns: 128, Inner: 9);
        if (dtype == DType.Float32) AssertExpanded<float>(dtype, shape, c: 0.5f, offsetElements: 1);
        else AssertExpanded<BFloat16>(dtype, shape, c: 0.5f, offsetElements: 1);
    }

    private void AssertExpanded<T>(DType dtype, (int Rows, int Columns, int Inner) shape, float c, int offsetElements = 0, T[]? old = null)
        where T : unmanaged
    {
        var (left, right) = Operands(shape);
        old ??= EngineTestData.Random<T>(shape.Rows, shape.Columns, 7);
        float[] oldWide = old.Select(ElementConvert.ToSingle).ToArray();
        T[] expected = Reference(left, right, shape, c, oldWide).Select(ElementConvert.FromSingle<T>).ToArray();
        T[] actual = Run(dtype, left, right, shape, c, old, offsetElements);
        var wrong = Enumerable.Range(0, expected.Length)
            .Where(i => !EqualBits(actual[i], expected[i]))
            .Select(i => $"({i / shape.Columns}, {i % shape.Columns}): {ElementConvert.ToSingle(actual[i]):R}, expected {ElementConvert.ToSingle(expected[i]):R}")
            .Take(5).ToList();
        Assert.That(wrong, Is.Empty);
    }

    private static (float[] Left, float[] Right) Operands((int Rows, int Columns, int Inner) shape) =>
        (EngineTestData.Random<float>(shape.Inner, shape.Rows, 1 + shape.Rows), EngineTestData.Random<float>(shape.Inner, shape.Columns, 2 + shape.Columns));

    // The kernel's definition: one fused chain per element from +0, then ⊗ a·β, then ⊕ c ⊗ old when c ≠ 0 (in float32; the caller rounds).
    private static float[] Reference(float[] left, float[] right, (int Rows, int Columns, int Inner) shape, float c, float[] old)
    {
        var result = new float[shape.Rows * shape.Columns];
        for (int p = 0; p < shape.Rows; p++)
            for (int q = 0; q < shape.Columns; q++)
            {
                float sum = 0f;
                for (int j = 0; j < shape.Inner; j++) sum = MathF.FusedMultiplyAdd(left[j * shape.Rows + p], right[j * shape.Columns + q], sum);
                float value = ProductScale * sum;
                if (c != 0f) value += c * old[p * shape.Columns + q];
                result[p * shape.Columns + q] = value;
            }
        return result;
    }

    // The kernel on the device, its output at `offsetElements` past the start of its buffer.
    private T[] Run<T>(DType dtype, float[] left, float[] right, (int Rows, int Columns, int Inner) shape, float c, T[] old, int offsetElements)
        where T : unmanaged
    {
        using var l = Upload(left);
        using var r = Upload(right);
        using var scalars = Upload(new[] { ProductScale, c, 0f });
        using var output = Device.Allocate<T>(old.Length + offsetElements);
        var initial = new T[old.Length + offsetElements];
        old.CopyTo(initial, offsetElements);
        output.CopyFrom(initial);
        ulong target = output.Address + (ulong)(offsetElements * dtype.SizeOf());
        PammKernels.Expand(Device.DefaultStream, l.Address, r.Address, shape.Inner, shape.Rows, shape.Columns, scalars.Address, dtype, target);
        return output.ToArray(Device.DefaultStream)[offsetElements..];
    }

    private static T[] Filled<T>((int Rows, int Columns, int Inner) shape, T value) => Enumerable.Repeat(value, shape.Rows * shape.Columns).ToArray();

    private static bool EqualBits<T>(T a, T b) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(new[] { a }.AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new[] { b }.AsSpan()));
}
