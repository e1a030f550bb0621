using PammCuda.Cuda;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Cli;

/// <summary>
/// <c>--device</c>: the GPU engine on the emulated device and on a real GPU reports what the CPU
/// backend reports, and a GPU that is not there is a one-line failure.
/// </summary>
public class PammDeviceTests
{
    private static readonly string[] SmallDemo = ["demo", "--rows", "256", "--cols", "64", "--grad-cols", "32", "--directions", "3", "--k", "8"];

    private const string EngineBackend = "GPU engine (PammCuda.Engine.PammEngine) on ";

    [TestCase("")]
    [TestCase("--layout grad-by-in")]
    [TestCase("--noise 0.2 --epsilon 0.3")]
    [TestCase("--seed 11 --noise 0.3")]
    [TestCase("--dtype bf16")]
    [TestCase("--dtype f16 --layout grad-by-in --alpha bf16")]
    public void Emulated_device_reports_what_the_cpu_reports(string options)
    {
        Requirements.Require(Need.Compiler);
        AssertSameReportAsCpu("emulated", [.. SmallDemo, .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
    }

    [Test]
    public void Emulated_device_reports_what_the_cpu_reports_for_a_float16_file()
    {
        Requirements.Require(Need.Compiler);
        string path = Path.Combine(Path.GetTempPath(), $"pamm-{Guid.NewGuid():N}.npy");
        try
        {
            var random = new Random(5);
            Half[] data = [.. Enumerable.Range(0, 300 * 20).Select(_ => (Half)(random.NextDouble() - 0.5))];
            File.WriteAllBytes(path, NpyWriter.Encode(data, 300, 20));
            AssertSameReportAsCpu("emulated", ["run", "--x", path, "--ratio", "0.1", "--grad-cols", "7"]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Emulated_device_is_exact_up_to_float32_rounding_without_noise()
    {
        Requirements.Require(Need.Compiler);
        var run = PammCommand.Run([.. SmallDemo, "--noise", "0", "--device", "emulated"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.RelativeError(), Is.LessThan(1e-5));
    }

    [Test]
    public void Emulated_device_reports_its_name_and_times_every_step()
    {
        Requirements.Require(Need.Compiler);
        var run = PammCommand.Run([.. SmallDemo, "--device", "emulated", "--repeat", "3"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("backend"), Does.StartWith(EngineBackend + "emulated ("));
        Assert.That(run.Line("time"), Does.Match(@"^compress \d+\.\d ms, approximate product \d+\.\d ms, exact product \d+\.\d ms$"));
    }

    [Test]
    public void Gpu_without_a_usable_gpu_fails_with_the_reason_on_one_line()
    {
        var availability = CudaRuntime.CheckAvailability();
        if (availability.IsAvailable) Assert.Ignore($"A GPU is present ({availability.Reason}); this test needs a machine without one.");
        var run = PammCommand.Run([.. SmallDemo, "--device", "gpu"]);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Output, Is.Empty);
        Assert.That(run.Error, Is.EqualTo($"pamm: --device gpu: no usable GPU: {availability.Reason}{Environment.NewLine}"));
    }

    [Test]
    public void Gpu_reports_what_the_cpu_reports()
    {
        Requirements.Require(Need.CudaGpu);
        AssertSameReportAsCpu("gpu", SmallDemo);
    }

    // The two workloads scripts/gpu-bundle/run.sh runs under compute-sanitizer, and the start of the "k" line each reports.
    [TestCase("--rows 4096 --cols 256 --grad-cols 256 --k 300 --alpha bf16 --epsilon 0.5 --refine --repeat 2", "300 generators")]
    [TestCase("--rows 20480 --cols 64 --grad-cols 72 --k 24 --dtype bf16 --layout grad-by-in", "24 generators")]
    public void Gpu_runs_the_sanitizer_workloads_of_the_gpu_bundle(string options, string generators)
    {
        Requirements.Require(Need.CudaGpu);
        var run = PammCommand.Run(["demo", "--device", "gpu", .. options.Split(' ')]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Error, Is.Empty);
        Assert.That(run.Line("k"), Does.StartWith(generators));
    }

    [Test]
    public void Auto_takes_the_gpu_exactly_when_cuda_is_available()
    {
        var run = PammCommand.Run([.. SmallDemo, "--device", "auto"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        string expected = CudaRuntime.CheckAvailability().IsAvailable ? EngineBackend : "CPU (PammCuda.Cpu.CpuPamm) on ";
        Assert.That(run.Line("backend"), Does.StartWith(expected));
    }

    [Test]
    public void Help_names_every_device_and_the_gpu_failure_exit_code()
    {
        Assert.That(PammCommand.Run("demo", "--help").Output, Does.Contain("auto, cpu, gpu or emulated"));
        Assert.That(PammCommand.Run("--help").Output, Does.Contain("1 failed (for example an unreadable or malformed file, or --device gpu"));
    }

    private static void AssertSameReportAsCpu(string device, string[] args)
    {
        var cpu = PammCommand.Run([.. args, "--device", "cpu"]);
        var engine = PammCommand.Run([.. args, "--device", device]);
        Assert.That(engine.ExitCode, Is.EqualTo(0), engine.Error);
        Assert.That(engine.Error, Is.Empty);
        Assert.That(engine.Line("backend"), Does.StartWith(EngineBackend));
        // Same generators (Philox), hence the same k, η, β and stored bytes: this data has no near-ties.
        foreach (string label in new[] { "X", "G", "product", "k", "memory" })
            Assert.That(engine.Line(label), Is.EqualTo(cpu.Line(label)), label);
        // Both products accumulate in float32 (relative differences ~1e-6), far below the 4 significant
        // digits the report prints; one unit in the last printed digit covers a rounding boundary.
        double cpuError = cpu.RelativeError();
        Assert.That(engine.RelativeError(), Is.EqualTo(cpuError).Within(LastPrintedDigit(cpuError)));
    }

    private static double LastPrintedDigit(double value) =>
        value == 0 ? 1e-7 : Math.Pow(10, Math.Floor(Math.Log10(Math.Abs(value))) - 3);
}
