namespace PammCuda.Bench.Harness;

/// <summary>What one run of the program measures or generates.</summary>
public enum Suite
{
    /// <summary>The GPU engine against cuBLAS and device copies, timed with device events.</summary>
    Gpu,

    /// <summary>The CPU backend against OpenBLAS and memory copies.</summary>
    Cpu,

    /// <summary>The memory table of the paper's LLaMA sizes (computed, not measured).</summary>
    MemoryTable,

    /// <summary>CPU, GPU and memory table in turn.</summary>
    All,
}
