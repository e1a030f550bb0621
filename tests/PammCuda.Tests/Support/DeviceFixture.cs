using PammCuda.Devices;

namespace PammCuda.Tests.Support;

/// <summary>
/// Base of fixtures that run once per device of <see cref="TestDevices.Names"/>: opens the device once
/// (ignoring the whole fixture where it cannot run) and writes the device each test ran on to the test output.
/// </summary>
public abstract class DeviceFixture(string deviceName)
{
    private IComputeDevice? _device;

    /// <summary>The device of this fixture.</summary>
    protected IComputeDevice Device => _device ?? throw new InvalidOperationException("The device is opened in OneTimeSetUp.");

    /// <summary>True on the emulated device, where shapes are kept small.</summary>
    protected bool IsEmulated => Device.IsEmulated;

    [OneTimeSetUp]
    public void OpenDevice() => _device = TestDevices.Open(deviceName);

    [OneTimeTearDown]
    public void CloseDevice() => _device?.Dispose();

    [SetUp]
    public void ReportDevice() => TestContext.Out.WriteLine($"Device: {Device.Name}");

    /// <summary>Copies host data to a new device buffer.</summary>
    protected DeviceBuffer<T> Upload<T>(T[] data) where T : unmanaged
    {
        var buffer = Device.Allocate<T>(data.Length);
        buffer.CopyFrom(data);
        return buffer;
    }
}
