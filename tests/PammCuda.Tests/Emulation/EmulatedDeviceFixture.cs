using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Emulation;

/// <summary>Creates an emulated device over the test kernels once per fixture, or skips each test when no C++ compiler is present.</summary>
[Requires(Need.Compiler)]
public abstract class EmulatedDeviceFixture
{
    private EmulatedComputeDevice? _device;

    protected EmulatedComputeDevice Device => _device ?? throw new InvalidOperationException("The fixture has no device.");

    [OneTimeSetUp]
    public void CreateDevice()
    {
        if (Requirements.Missing(Need.Compiler) is not null) return; // [Requires] skips each test
        _device = new EmulatedComputeDevice(EmulatorTestKernels.TranslationUnits, EmulatorTestKernels.Headers);
        TestContext.Out.WriteLine($"device: {_device.Name}");
    }

    [OneTimeTearDown]
    public void DisposeDevice() => _device?.Dispose();

    protected DeviceBuffer<T> Upload<T>(T[] values) where T : unmanaged
    {
        var buffer = Device.Allocate<T>(values.Length);
        buffer.CopyFrom(values);
        return buffer;
    }

    protected unsafe void Launch(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, params ulong[] pointers) =>
        LaunchWith(kernel, grid, block, dynamicSharedBytes, pointers, []);

    /// <summary>Launches with pointer arguments first, then 32-bit integer arguments, as the test kernels declare them.</summary>
    protected unsafe void LaunchWith(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, ulong[] pointers, int[] integers)
    {
        var values = stackalloc ulong[pointers.Length + integers.Length];
        var arguments = stackalloc void*[pointers.Length + integers.Length];
        for (int i = 0; i < pointers.Length; i++) values[i] = pointers[i];
        for (int i = 0; i < integers.Length; i++) *(int*)&values[pointers.Length + i] = integers[i];
        for (int i = 0; i < pointers.Length + integers.Length; i++) arguments[i] = &values[i];
        Device.DefaultStream.Launch(Device.GetKernel(kernel), grid, block, dynamicSharedBytes, arguments);
    }
}
