using PammCuda.Bench.Cpu;
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
    _ => throw new NotSupportedException(),
};
