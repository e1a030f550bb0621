using PammCuda.Bench.Cpu;
using PammCuda.Bench.Gpu;
using PammCuda.Bench.Harness;
using PammCuda.Bench.Memory;

BenchCommandLine commandLine;
try
{
    commandLine = BenchCommandLine.Parse(args);
}
catch (ArgumentException error)
{
    Console.Error.WriteLine(error.Message);
    return 2;
}

string results = commandLine.ResultsDirectory ?? ResultsDirectory.Default();
ShapeSets.Quick = commandLine.Quick;
return commandLine.Suite switch
{
    Suite.MemoryTable => MemoryTableRun.Run(results),
    Suite.Cpu => CpuSuite.Run(commandLine, results),
    Suite.Gpu => GpuSuite.Run(commandLine, results),
    Suite.All => RunAll(commandLine, results),
    _ => throw new InvalidOperationException($"Unknown suite {commandLine.Suite}."),
};

static int RunAll(BenchCommandLine commandLine, string results)
{
    int cpu = CpuSuite.Run(commandLine, results);
    int gpu = GpuSuite.Run(commandLine, results);
    int memory = MemoryTableRun.Run(results);
    return Math.Max(cpu, Math.Max(gpu, memory));
}
