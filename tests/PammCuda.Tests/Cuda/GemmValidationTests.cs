using PammCuda.Cuda;
using PammCuda.Devices;

namespace PammCuda.Tests.Cuda;

public class GemmValidationTests
{
    private static GemmDescriptor Valid() => new(
        GemmOperation.None, GemmOperation.Transpose, M: 4, N: 5, K: 6,
        Alpha: 0x1000, A: 0x2000, DType.Float16, LeadingDimensionA: 4,
        B: 0x3000, DType.Float16, LeadingDimensionB: 5,
        Beta: 0x4000, C: 0x5000, DType.Float32, LeadingDimensionC: 4);

    [Test]
    public void A_valid_descriptor_passes() => Assert.DoesNotThrow(() => GemmValidation.Validate(Valid(), "gemm"));

    private static IEnumerable<TestCaseData> Invalid()
    {
        yield return new TestCaseData(Valid() with { M = -1 }, "negative").SetName("Negative_size");
        yield return new TestCaseData(Valid() with { LeadingDimensionA = 3 }, "LeadingDimensionA").SetName("LeadingDimensionA_below_M");
        yield return new TestCaseData(Valid() with { LeadingDimensionB = 4 }, "LeadingDimensionB").SetName("LeadingDimensionB_below_N_when_transposed");
        yield return new TestCaseData(Valid() with { LeadingDimensionC = 3 }, "LeadingDimensionC").SetName("LeadingDimensionC_below_M");
        yield return new TestCaseData(Valid() with { TypeB = DType.BFloat16 }, "must match").SetName("Mixed_input_types");
        yield return new TestCaseData(Valid() with { TypeA = DType.Float32, TypeB = DType.Float32, TypeC = DType.Float16 }, "must match").SetName("Narrower_output_than_inputs");
        yield return new TestCaseData(Valid() with { Alpha = 0 }, "Alpha").SetName("Null_alpha");
        yield return new TestCaseData(Valid() with { C = 0 }, "device addresses").SetName("Null_output");
    }

    [TestCaseSource(nameof(Invalid))]
    public void An_invalid_descriptor_is_refused_naming_the_argument(GemmDescriptor gemm, string message)
    {
        var exception = Assert.Throws<ArgumentException>(() => GemmValidation.Validate(gemm, "gemm"));
        Assert.That(exception!.ParamName, Is.EqualTo("gemm"));
        Assert.That(exception.Message, Does.Contain(message));
    }

    [Test]
    public void Null_operands_are_allowed_when_k_is_zero()
    {
        Assert.DoesNotThrow(() => GemmValidation.Validate(Valid() with { K = 0, A = 0, B = 0, LeadingDimensionB = 5 }, "gemm"));
    }
}
