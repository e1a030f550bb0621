using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Cuda;

public class CudaAvailabilityTests
{
    [Test]
    public void Without_a_gpu_availability_says_why_and_the_device_refuses_to_open()
    {
        var availability = CudaRuntime.CheckAvailability();
        if (availability.IsAvailable) Assert.Ignore($"This machine has a usable GPU: {availability.Reason}");
        Assert.That(availability.Reason, Is.Not.Empty);
        // A driver that sees devices but lacks NVRTC or cuBLAS beside it counts them, and is still unusable.
        if (availability.DriverLibrary is null || availability.Reason.StartsWith("no CUDA device", StringComparison.Ordinal))
            Assert.That(availability.DeviceCount, Is.Zero);
        if (availability.DriverLibrary is null) Assert.That(availability.Reason, Does.Contain("libcuda.so.1").Or.Contain("nvcuda.dll"));

        var exception = Assert.Throws<DeviceUnavailableException>(() => new CudaComputeDevice().Dispose());
        Assert.That(exception!.Message, Is.EqualTo(availability.Reason));
        Assert.Throws<DeviceUnavailableException>(() => _ = CudaDevice.Count);
    }

    [Test]
    public void With_a_gpu_availability_reports_devices_and_a_supported_driver()
    {
        Requirements.Require(Need.CudaGpu);
        var availability = CudaRuntime.CheckAvailability();
        Assert.That(availability.DeviceCount, Is.Positive);
        Assert.That(availability.DriverVersion, Is.GreaterThanOrEqualTo(CudaRuntime.MinimumDriverVersion));
        Assert.That(availability.DriverLibrary, Is.Not.Null);
    }

    [TestCase(13000, 13, 0)]
    [TestCase(12080, 12, 8)]
    [TestCase(11020, 11, 2)]
    public void Driver_version_numbers_parse_to_cuda_versions(int number, int major, int minor)
    {
        Assert.That(CudaRuntime.ParseDriverVersion(number), Is.EqualTo(new Version(major, minor)));
    }
}
