namespace PammCuda.Tests.Support;

/// <summary>Where a missing GPU fails a test instead of skipping it: on a GPU visit (PAMM_REQUIRE_CUDA=1), never elsewhere.</summary>
public class RequirementsTests
{
    [TestCase(Need.CudaGpu)]
    [TestCase(Need.Nvrtc)]
    public void A_missing_cuda_fails_where_cuda_is_required(Need need) =>
        Assert.That(Requirements.FailureWhenMissing(need, "no driver", cudaRequired: true), Is.EqualTo("PAMM_REQUIRE_CUDA=1, but no driver"));

    [Test]
    public void A_missing_compiler_only_skips_even_where_cuda_is_required() =>
        Assert.That(Requirements.FailureWhenMissing(Need.Compiler, "no g++", cudaRequired: true), Is.Null);

    [TestCase(Need.CudaGpu)]
    [TestCase(Need.Nvrtc)]
    [TestCase(Need.Compiler)]
    public void Anything_missing_only_skips_where_cuda_is_not_required(Need need) =>
        Assert.That(Requirements.FailureWhenMissing(need, "missing", cudaRequired: false), Is.Null);
}
