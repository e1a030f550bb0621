namespace PammCuda.Bench.Memory;

/// <summary>A LLaMA configuration of the paper's memory table: hidden size and number of decoder layers.</summary>
/// <param name="Name">The paper's name for the model size.</param>
/// <param name="Hidden">Hidden size n, the width of the Q/K/V projections' input.</param>
/// <param name="Layers">Decoder layers, each with one attention block whose Q, K and V read the same input.</param>
public sealed record LlamaModel(string Name, int Hidden, int Layers)
{
    /// <summary>The five sizes the paper reports on.</summary>
    public static IReadOnlyList<LlamaModel> PaperSizes { get; } =
    [
        new("LLaMA 60M", 512, 8),
        new("LLaMA 130M", 768, 12),
        new("LLaMA 350M", 1024, 24),
        new("LLaMA 1B", 2048, 24),
        new("LLaMA 7B", 4096, 32),
    ];
}
