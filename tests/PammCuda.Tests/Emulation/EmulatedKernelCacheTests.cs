using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Emulation;

/// <summary>The emulated device's compiled-library cache, and the real kernels of <c>kernels/</c> built for the emulator.</summary>
[Requires(Need.Compiler)]
public sealed class EmulatedKernelCacheTests
{
    [Test]
    public void Compiled_library_is_cached_and_reused_by_the_next_device()
    {
        var directory = Directory.CreateTempSubdirectory("pammcuda-emu-cache-test-").FullName;
        try
        {
            var cache = new KernelImageCache(directory);
            // A source no other test compiles, so this process has not loaded its library yet.
            IReadOnlyList<KeyValuePair<string, string>> units =
                [new("cached.cu", $"// {Guid.NewGuid()}\nextern \"C\" __global__ void emu_cached(int* out) {{ *out = 7; }}\nPAMM_EXPORT_KERNEL(emu_cached)\n")];
            using var first = new EmulatedComputeDevice(units, [], cache);
            Assert.That(cache.Contains(first.CacheKey), Is.False);
            var kernel = first.GetKernel("emu_cached");
            Assert.That(cache.Contains(first.CacheKey), Is.True);
            Assert.That(File.Exists(cache.PathOf(first.CacheKey, ".so")), Is.True);

            using var second = new EmulatedComputeDevice(units, [], new KernelImageCache(directory));
            TestContext.Out.WriteLine($"device: {second.Name}");
            Assert.Multiple(() =>
            {
                Assert.That(second.CacheKey, Is.EqualTo(first.CacheKey));
                Assert.That(second.GetKernel("emu_cached").Handle, Is.EqualTo(kernel.Handle), "the loaded library is shared");
                Assert.That(cache.GetOrAdd(first.CacheKey, () => throw new AssertionException("rebuilt")), Is.Not.Empty,
                    "a later process finds the image without compiling");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Every_kernel_of_the_kernels_folder_builds_for_the_emulator()
    {
        if (KernelSources.TranslationUnits.Count == 0) Assert.Ignore("This build embeds no kernels/*.cu.");
        using var device = new EmulatedComputeDevice();
        TestContext.Out.WriteLine($"device: {device.Name}");
        var names = KernelSources.TranslationUnits
            .SelectMany(unit => System.Text.RegularExpressions.Regex.Matches(unit.Value, @"^[ \t]*PAMM_EXPORT_KERNEL\s*\(\s*(\w+)\s*\)",
                System.Text.RegularExpressions.RegexOptions.Multiline))
            .Select(match => match.Groups[1].Value)
            .ToList();
        Assert.That(names, Is.Not.Empty);
        foreach (var name in names)
            Assert.That(device.GetKernel(name).MaxThreadsPerBlock, Is.InRange(1, 1024), name);
    }
}
