// What a user of the PammCuda package does, as the README's "Using the library" shows it: the CPU backend in
// float, Half and BFloat16, the GPU engine on the emulated device, and the CUDA availability check.
// Arguments: the manifest resource names the library must embed (kernel sources and the emulation runtime).
// Prints one line per check and exits 1 on the first failure, with the reason.
using PammCuda;
using PammCuda.Cpu;
using PammCuda.Cuda;
using PammCuda.Devices;
using PammCuda.Emulation;
using PammCuda.Engine;

const int b = 1024, n = 48, m = 40;
var options = new PammOptions { Ratio = 1.0 / 64, Seed = 42 };
int expectedK = options.ResolveK(b);

try
{
    CheckEmbeddedResources(args);

    // Activations around a few directions (what PAMM is made for) and a Gaussian output gradient.
    var random = new Random(7);
    float[][] directions = [.. Enumerable.Range(0, 4).Select(_ => Gaussian(random, n))];
    float[] x = new float[b * n];
    for (int i = 0; i < b; i++)
    {
        float[] direction = directions[i % directions.Length];
        float scale = 0.5f + (float)random.NextDouble();
        for (int j = 0; j < n; j++) x[i * n + j] = scale * direction[j] + 0.05f * (float)NextGaussian(random);
    }
    float[] g = Gaussian(random, b * m);

    var exact = new float[m * n];
    CpuPamm.ExactMatmul<float, float, float>(x, b, n, g, m, exact, ProductLayout.GradientByInput);

    float[] cpuFloat = CheckCpu(x, g, exact, v => v);
    CheckCpu(x, g, exact, v => (Half)v, cpuFloat);
    CheckCpu(x, g, exact, v => (BFloat16)v, cpuFloat);
    CheckEmulatedEngine(x, g, cpuFloat);

    CudaAvailability cuda = CudaRuntime.CheckAvailability();
    Require(!string.IsNullOrWhiteSpace(cuda.Reason), "CudaRuntime.CheckAvailability() gave no reason");
    Console.WriteLine($"cuda: {(cuda.IsAvailable ? "available" : "not available")}: {cuda.Reason}");
    Console.WriteLine("package consumer: ok");
    return 0;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Console.Error.WriteLine($"package consumer: FAILED: {e.GetType().Name}: {e.Message}");
    return 1;
}

// Compresses X in T, accumulates the approximate weight gradient (m × n, [out, in]) into a zeroed buffer, and
// checks it against the exact product and, for 16-bit types, against the float result.
float[] CheckCpu<T>(float[] x, float[] g, float[] exact, Func<float, T> convert, float[]? floatResult = null)
    where T : unmanaged
{
    T[] xt = [.. x.Select(convert)], gt = [.. g.Select(convert)];
    CpuCompressedActivation<T> compressed = CpuPamm.Compress<T>(xt, rows: b, columns: n, options);
    Require(compressed.K == expectedK, $"{typeof(T).Name}: K = {compressed.K}, expected {expectedK}");
    Require(compressed.CompressionRatio > 10, $"{typeof(T).Name}: compression ratio only {compressed.CompressionRatio:F1}");

    var weightGrad = new float[m * n];
    CpuPamm.ApproxMatmul<T, T, float>(compressed, gt, gradientColumns: m, weightGrad,
        ProductLayout.GradientByInput, a: 1f, c: 1f);
    double error = RelativeDifference(weightGrad, exact);
    Require(error < 0.5, $"{typeof(T).Name}: relative error {error:E2} against the exact product, expected < 0.5");
    string versusFloat = "";
    if (floatResult is not null)
    {
        double difference = RelativeDifference(weightGrad, floatResult);
        Require(difference < 0.05, $"{typeof(T).Name}: differs from the float result by {difference:E2}");
        versusFloat = $", {difference:E2} from float";
    }
    Console.WriteLine($"cpu {typeof(T).Name}: k = {compressed.K}, {compressed.CompressionRatio:F1}x less memory, " +
        $"error {error:E2}{versusFloat}");
    return weightGrad;
}

// The GPU engine on the emulated device (the same kernels, compiled by the system C++ compiler): float, same seed,
// so the same generators as the CPU backend and nearly the same product.
void CheckEmulatedEngine(float[] x, float[] g, float[] cpuFloat)
{
    if (EmulatedComputeDevice.CheckAvailability() is { } reason)
        throw new InvalidOperationException($"the emulated device cannot run here: {reason}");
    using var device = new EmulatedComputeDevice();
    using var engine = new PammEngine(device, options);
    using DeviceBuffer<float> xBuffer = device.Allocate<float>(x.Length), gBuffer = device.Allocate<float>(g.Length),
        weightGradBuffer = device.Allocate<float>(m * n);
    xBuffer.CopyFrom(x);
    gBuffer.CopyFrom(g);
    using GpuCompressedActivation compressed = engine.Compress(xBuffer, rows: b, columns: n);
    Require(compressed.K == expectedK, $"emulated: K = {compressed.K}, expected {expectedK}");
    engine.ApproxMatmul(compressed, gBuffer, gradientColumns: m, weightGradBuffer, ProductLayout.GradientByInput);
    double difference = RelativeDifference(weightGradBuffer.ToArray(), cpuFloat);
    Require(difference < 1e-4, $"emulated: differs from the CPU backend by {difference:E2}");
    Console.WriteLine($"engine on {device.Name}: k = {compressed.K}, {difference:E2} from the CPU backend");
}

static void CheckEmbeddedResources(string[] expected)
{
    Require(expected.Length > 0, "no expected resource names given (scripts/package-test.sh passes them)");
    var embedded = typeof(CpuPamm).Assembly.GetManifestResourceNames().ToHashSet(StringComparer.Ordinal);
    string[] missing = [.. expected.Where(name => !embedded.Contains(name))];
    Require(missing.Length == 0, $"PammCuda.dll from the package lacks the embedded resources {string.Join(", ", missing)}");
    Console.WriteLine($"resources: all {expected.Length} kernel and emulation sources embedded");
}

static void Require(bool condition, string message)
{
    if (!condition) throw new InvalidOperationException(message);
}

static double RelativeDifference(float[] actual, float[] expected)
{
    double difference = 0, norm = 0;
    for (int i = 0; i < expected.Length; i++)
    {
        difference += Math.Pow(actual[i] - expected[i], 2);
        norm += Math.Pow(expected[i], 2);
    }
    return Math.Sqrt(difference / norm);
}

static float[] Gaussian(Random random, int length) => [.. Enumerable.Range(0, length).Select(_ => (float)NextGaussian(random))];

static double NextGaussian(Random random) =>
    Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
