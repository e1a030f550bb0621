using System.Runtime.InteropServices;
using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// The product's other sort-free form, measured beside the reduction passes (<see cref="AssignmentMatrixProduct"/>): the
/// dense assignment Pᵀ (<c>pamm_assignment_matrix</c>) holds α_i, rounded once to P's dtype, at (f(i), i) and +0 elsewhere,
/// to the bit, for every width of f, both α dtypes and every P dtype; and one GEMM Pᵀ G gives B̃ within float32
/// accumulation's bound of the exact sum, as the two reduction passes do of theirs.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class AssignmentMatrixKernelTests(string deviceName) : DeviceFixture(deviceName)
{
    // (rows, k): one row; 8-bit f with a tail block; 16-bit f (k > 256); 32-bit f (k > 65 536; the kernel does not need k ≤ b).
    private static readonly (int Rows, int K)[] Shapes = [(1, 1), (300, 7), (70, 300), (12, 65_537)];

    [TestCaseSource(nameof(Shapes))]
    public void Each_rows_alpha_sits_at_its_generator_rounded_once_and_the_rest_is_zero((int Rows, int K) shape)
    {
        AssertMatrix<float>(shape, DType.Float32);
        AssertMatrix<BFloat16>(shape, DType.Float32);
        AssertMatrix<Half>(shape, DType.Float32);
        AssertMatrix<BFloat16>(shape, DType.BFloat16);
        AssertMatrix<float>(shape, DType.BFloat16);
    }

    [TestCase(DType.Float32, 300, 7, 13)]
    [TestCase(DType.BFloat16, 300, 7, 13)]
    [TestCase(DType.BFloat16, 1000, 40, 64)]
    [TestCase(DType.Float16, 257, 3, 130)]
    public void One_gemm_of_the_matrix_and_G_gives_B_within_float32_accumulations_bound(DType gradientType, int rows, int k, int columns)
    {
        if (gradientType == DType.Float32) AssertReducedByGemm<float>(rows, k, columns);
        else if (gradientType == DType.BFloat16) AssertReducedByGemm<BFloat16>(rows, k, columns);
        else AssertReducedByGemm<Half>(rows, k, columns);
    }

    [Test]
    public void A_width_or_dtype_the_kernel_cannot_take_is_refused_before_a_launch()
    {
        var stream = Device.DefaultStream;
        Assert.Multiple(() =>
        {
            Assert.That(() => PammKernels.AssignmentMatrix(stream, (AssignmentWidth)3, 0, DType.Float32, 0, 1, 1, DType.Float32, 0),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("assignmentWidth"));
            Assert.That(() => PammKernels.AssignmentMatrix(stream, AssignmentWidth.Byte, 0, DType.Float32, 0, 1, 1, (DType)3, 0),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("matrixType"));
            Assert.That(() => PammKernels.AssignmentMatrix(stream, AssignmentWidth.Byte, 0, DType.Float16, 0, 1, 1, DType.Float32, 0),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alphaType"));
        });
    }

    private void AssertMatrix<T>((int Rows, int K) shape, DType alphaType) where T : unmanaged
    {
        var (rows, k) = shape;
        var (assignment, alpha) = RandomAssignment(rows, k, seed: rows + k);
        float[] alphaStored = alphaType == DType.BFloat16 ? alpha.Select(a => (float)(BFloat16)a).ToArray() : alpha;
        var expected = new T[(long)k * rows];
        for (int i = 0; i < rows; i++) expected[(long)assignment[i] * rows + i] = ElementConvert.FromSingle<T>(alphaStored[i]);

        var matrixType = DTypes.Of<T>();
        using var matrix = Device.Allocate<T>(expected.Length);
        using var parts = UploadAssignment(assignment, alpha, alphaType, k);
        PammKernels.AssignmentMatrix(Device.DefaultStream, AssignmentWidths.For(k), parts.Assignment.Address, alphaType, parts.Alpha.Address,
            rows, k, matrixType, matrix.Address);
        T[] actual = matrix.ToArray(Device.DefaultStream);

        var wrong = Enumerable.Range(0, expected.Length)
            .Where(e => !MemoryMarshal.AsBytes(actual.AsSpan(e, 1)).SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan(e, 1))))
            .Select(e => $"Pᵀ[{e / rows}, {e % rows}] = {ElementConvert.ToSingle(actual[e]):R}, expected {ElementConvert.ToSingle(expected[e]):R}")
            .Take(5).ToList();
        Assert.That(wrong, Is.Empty, $"P {matrixType}, α {alphaType}, b = {rows}, k = {k}");
    }

    private void AssertReducedByGemm<T>(int rows, int k, int columns) where T : unmanaged
    {
        var gradientType = DTypes.Of<T>();
        var (assignment, alpha) = RandomAssignment(rows, k, seed: 3 * rows + k);
        T[] gradient = EngineTestData.Random<T>(rows, columns, columns);
        double[] wideGradient = EngineTestData.Widen<T>(gradient);

        using var parts = UploadAssignment(assignment, alpha, DType.Float32, k);
        using var gradientBuffer = Upload(gradient);
        using var matrix = Device.Allocate<byte>(AssignmentMatrixProduct.MatrixBytes(rows, k, gradientType));
        using var constants = Upload(new[] { 1f, 0f });
        using var reduced = Device.Allocate<float>((long)k * columns);
        var stream = Device.DefaultStream;
        var compressed = new CompressedParts(rows, 1, k, gradientType, 0, parts.Assignment.Address, parts.Alpha.Address, 0, DType.Float32);
        AssignmentMatrixProduct.BuildMatrix(stream, compressed, gradientType, matrix.Address);
        stream.Gemm(AssignmentMatrixProduct.Reduce(matrix.Address, rows, k, gradientBuffer.Address, columns, gradientType,
            constants.Address, constants.Address + sizeof(float), reduced.Address));
        float[] actual = reduced.ToArray(stream);

        // Exact sums of the terms P holds (α rounded to G's dtype), and the bound of any float32 summation order:
        // each term's product rounded once, each of the group's additions once, u₃₂ each, doubled for the tensor cores.
        double u = EngineTestData.UnitRoundoff(DType.Float32);
        var wrong = new List<string>();
        for (int j = 0; j < k; j++)
        {
            int[] group = [.. Enumerable.Range(0, rows).Where(i => assignment[i] == j)];
            for (int q = 0; q < columns; q++)
            {
                double exact = 0, magnitude = 0;
                foreach (int i in group)
                {
                    double term = ElementConvert.ToSingle(ElementConvert.FromSingle<T>(alpha[i])) * wideGradient[(long)i * columns + q];
                    exact += term;
                    magnitude += Math.Abs(term);
                }
                double bound = 2 * (group.Length + 1) * u * magnitude;
                float value = actual[j * columns + q];
                if (!(Math.Abs(value - exact) <= bound) && wrong.Count < 5)
                    wrong.Add($"B̃[{j}, {q}] = {value:R}, exact {exact:R}, bound {bound:G3}");
            }
        }
        Assert.That(wrong, Is.Empty, $"G {gradientType}, b = {rows}, k = {k}, m = {columns}");
    }

    // f uniform over the generators but for two that get no row (empty groups), α in [-1, 1) with every ninth row dropped (α = 0).
    private static (int[] Assignment, float[] Alpha) RandomAssignment(int rows, int k, int seed)
    {
        var random = new Random(seed);
        int[] assignment = [.. Enumerable.Range(0, rows).Select(_ => k <= 2 ? random.Next(k) : 2 + random.Next(k - 2))];
        float[] alpha = [.. Enumerable.Range(0, rows).Select(i => i % 9 == 4 ? 0f : random.NextSingle() * 2f - 1f)];
        return (assignment, alpha);
    }

    private AssignmentBuffers UploadAssignment(int[] assignment, float[] alpha, DType alphaType, int k)
    {
        byte[] f = AssignmentWidths.For(k) switch
        {
            AssignmentWidth.Byte => [.. assignment.Select(j => (byte)j)],
            AssignmentWidth.UInt16 => MemoryMarshal.AsBytes(assignment.Select(j => (ushort)j).ToArray().AsSpan()).ToArray(),
            _ => MemoryMarshal.AsBytes(assignment.AsSpan()).ToArray(),
        };
        byte[] a = alphaType == DType.BFloat16
            ? MemoryMarshal.AsBytes(alpha.Select(value => (BFloat16)value).ToArray().AsSpan()).ToArray()
            : MemoryMarshal.AsBytes(alpha.AsSpan()).ToArray();
        return new AssignmentBuffers(Upload(f), Upload(a));
    }

    private sealed record AssignmentBuffers(DeviceBuffer<byte> Assignment, DeviceBuffer<byte> Alpha) : IDisposable
    {
        public void Dispose()
        {
            Assignment.Dispose();
            Alpha.Dispose();
        }
    }
}
