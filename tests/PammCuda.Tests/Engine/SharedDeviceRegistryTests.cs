using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Engine;

/// <summary>One device object per ordinal, reference-counted: opened by the first lease, closed by the last.</summary>
public class SharedDeviceRegistryTests
{
    [Test]
    public void Leases_of_one_ordinal_share_one_device_that_the_last_lease_closes()
    {
        var opened = new List<IComputeDevice>();
        var registry = new SharedDeviceRegistry(_ =>
        {
            var device = TestDevices.Open(TestDevices.Emulated);
            opened.Add(device);
            return device;
        });
        var first = registry.Acquire(0);
        var second = registry.Acquire(0);
        Assert.Multiple(() =>
        {
            Assert.That(opened, Has.Count.EqualTo(1));
            Assert.That(second.Device, Is.SameAs(first.Device));
            Assert.That(registry.ReferenceCount(0), Is.EqualTo(2));
            Assert.That(registry.OpenDeviceCount, Is.EqualTo(1));
        });

        first.Dispose();
        first.Dispose();  // a lease is given back once, however often it is disposed
        Assert.That(registry.ReferenceCount(0), Is.EqualTo(1));
        using (var buffer = second.Device.Allocate<float>(4)) Assert.That(buffer.Length, Is.EqualTo(4), "the device is still open");

        second.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(registry.ReferenceCount(0), Is.Zero);
            Assert.That(registry.OpenDeviceCount, Is.Zero);
            Assert.That(() => opened[0].Allocate<float>(4), Throws.TypeOf<ObjectDisposedException>(), "the last lease closes the device");
        });

        using var reopened = registry.Acquire(0);
        Assert.That(opened, Has.Count.EqualTo(2), "a closed ordinal opens again on the next lease");
    }

    [Test]
    public void Ordinals_get_their_own_devices()
    {
        var registry = new SharedDeviceRegistry(_ => TestDevices.Open(TestDevices.Emulated));
        using var zero = registry.Acquire(0);
        using var one = registry.Acquire(1);
        Assert.Multiple(() =>
        {
            Assert.That(one.Device, Is.Not.SameAs(zero.Device));
            Assert.That(registry.OpenDeviceCount, Is.EqualTo(2));
            Assert.That(registry.ReferenceCount(1), Is.EqualTo(1));
        });
    }

    [Test]
    public void A_device_that_fails_to_open_is_not_registered()
    {
        var registry = new SharedDeviceRegistry(ordinal => throw new ArgumentOutOfRangeException(nameof(ordinal), ordinal, "no such device"));
        Assert.Multiple(() =>
        {
            Assert.That(() => registry.Acquire(3), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(registry.OpenDeviceCount, Is.Zero);
        });
    }

    [Test]
    public void Engines_on_one_shared_device_load_its_kernels_once()
    {
        var registry = new SharedDeviceRegistry(_ => TestDevices.Open(TestDevices.Emulated));
        using var first = registry.Acquire(0);
        using var second = registry.Acquire(0);
        var device = (EmulatedComputeDevice)first.Device;
        Assert.That(second.Device.GetKernel("pamm_product_scalars"), Is.SameAs(device.GetKernel("pamm_product_scalars")),
            "both leases resolve kernels from the one loaded library");
    }
}
