using System.Runtime.Intrinsics;
using PammCuda.Cpu;

namespace PammCuda.Tests.Cpu;

/// <summary><see cref="CpuPamm.VectorBits"/>: the width the kernels run at is the widest this process accelerates.</summary>
public class CpuVectorBitsTests
{
    [Test]
    public void VectorBits_is_the_widest_accelerated_vector()
    {
        int expected = Vector512.IsHardwareAccelerated ? 512
            : Vector256.IsHardwareAccelerated ? 256
            : Vector128.IsHardwareAccelerated ? 128
            : 32;
        Assert.That(CpuPamm.VectorBits, Is.EqualTo(expected));
        Assert.That(GemmWidths.IsAccelerated(GemmWidths.Best), Is.True);
    }
}
