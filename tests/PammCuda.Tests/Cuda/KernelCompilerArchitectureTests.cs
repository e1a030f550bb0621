using PammCuda.Cuda;

namespace PammCuda.Tests.Cuda;

public class KernelCompilerArchitectureTests
{
    private static readonly int[] Supported = [75, 80, 86, 87, 89, 90];

    [Test]
    public void A_supported_device_gets_a_cubin_for_its_own_architecture()
    {
        Assert.That(KernelCompiler.ChooseArchitecture(new ComputeCapability(9, 0), Supported), Is.EqualTo("sm_90"));
        Assert.That(KernelCompiler.ChooseArchitecture(new ComputeCapability(8, 6), Supported), Is.EqualTo("sm_86"));
    }

    [Test]
    public void A_device_newer_than_nvrtc_gets_ptx_for_the_newest_older_architecture()
    {
        Assert.That(KernelCompiler.ChooseArchitecture(new ComputeCapability(10, 0), Supported), Is.EqualTo("compute_90"));
        Assert.That(KernelCompiler.ChooseArchitecture(new ComputeCapability(8, 8), Supported), Is.EqualTo("compute_87"));
    }

    [Test]
    public void Without_a_supported_list_the_device_architecture_is_tried()
    {
        Assert.That(KernelCompiler.ChooseArchitecture(new ComputeCapability(12, 0), null), Is.EqualTo("sm_120"));
    }

    [Test]
    public void A_device_older_than_every_supported_architecture_is_refused()
    {
        var exception = Assert.Throws<NotSupportedException>(() => KernelCompiler.ChooseArchitecture(new ComputeCapability(6, 0), Supported));
        Assert.That(exception!.Message, Does.Contain("sm_75").And.Contain("sm_60"));
    }

    [Test]
    public void Options_keep_ieee_arithmetic_without_contraction_or_fast_math()
    {
        Assert.That(KernelCompiler.Options, Does.Contain("--prec-div=true").And.Contain("--prec-sqrt=true").And.Contain("--ftz=false").And.Contain("--fmad=false"));
        Assert.That(KernelCompiler.Options, Has.None.Contains("fast-math").And.None.Contains("fast_math").And.None.Contains("gpu-architecture"));
    }
}
