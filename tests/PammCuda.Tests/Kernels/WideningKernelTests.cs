using PammCuda.Devices;
using PammCuda.Engine;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Kernels;

/// <summary>
/// The kernels' 16-bit loads (pamm_common.cuh), through the widening kernel that turns 16-bit generators into float32
/// for the product's GEMM: every one of the 65,536 bit patterns must give the float the CPU backend's conversion gives,
/// bit for bit (NaNs quiet, payload kept, as <see cref="Half"/>'s conversion makes them; bfloat16 by its 16-bit shift).
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Names))]
public class WideningKernelTests(string deviceName) : DeviceFixture(deviceName)
{
    private const int Patterns = 1 << 16;

    [Test]
    public void Every_float16_widens_as_System_Half_does()
    {
        var values = new Half[Patterns];
        for (int bits = 0; bits < Patterns; bits++) values[bits] = BitConverter.UInt16BitsToHalf((ushort)bits);
        AssertWidened(DType.Float16, Upload(values), bits => (float)values[bits]);
    }

    [Test]
    public void Every_bfloat16_widens_as_the_CPU_backend_does()
    {
        var values = new BFloat16[Patterns];
        for (int bits = 0; bits < Patterns; bits++) values[bits] = BFloat16.FromBits((ushort)bits);
        AssertWidened(DType.BFloat16, Upload(values), bits => (float)values[bits]);
    }

    private void AssertWidened<T>(DType dtype, DeviceBuffer<T> source, Func<int, float> expected) where T : unmanaged
    {
        using (source)
        using (var widened = Device.Allocate<float>(Patterns))
        {
            PammKernels.ConvertToSingle(Device.DefaultStream, dtype, source.Address, Patterns, widened.Address);
            float[] actual = widened.ToArray(Device.DefaultStream);
            var wrong = Enumerable.Range(0, Patterns)
                .Where(bits => BitConverter.SingleToUInt32Bits(actual[bits]) != BitConverter.SingleToUInt32Bits(expected(bits)))
                .Select(bits => $"0x{bits:x4}: 0x{BitConverter.SingleToUInt32Bits(actual[bits]):x8}, expected 0x{BitConverter.SingleToUInt32Bits(expected(bits)):x8}")
                .Take(5).ToList();
            Assert.That(wrong, Is.Empty);
        }
    }
}
