using PammCuda.Devices;

namespace PammCuda.Tests.Support;

/// <summary>
/// Base of fixtures that run once per device of <see cref="TestDevices.Names"/>: opens the device once
/// (where it cannot run here, each test is skipped with the reason, see <see cref="Requirements"/>) and writes the
/// device each test ran on to the test output.
/// </summary>
[Requires]
public abstract class DeviceFixture(string deviceName)
{
    private IComputeDevice? _device;

    /// <summary>What the device of this fixture needs.</summary>
    public Need Need { get; } = TestDevices.NeedOf(deviceName);

    /// <summary>The device of this fixture.</summary>
    protected IComputeDevice Device => _device ?? throw new InvalidOperationException("The device is opened in OneTimeSetUp.");

    /// <summary>True on the emulated device, where shapes are kept small.</summary>
    protected bool IsEmulated => Device.IsEmulated;

    // Where the device is missing, [Requires] skips each test before its SetUp.
    [OneTimeSetUp]
    public void OpenDevice()
    {
        if (Requirements.Missing(Need) is null) _device = TestDevices.Open(deviceName);
    }

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
