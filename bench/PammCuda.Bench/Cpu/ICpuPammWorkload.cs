namespace PammCuda.Bench.Cpu;

/// <summary>
/// PAMM's CPU operations on one prepared input, for one element type: X (b × n), three gradients G (b × m, one each for
/// Q, K and V) and three outputs, with X compressed once in advance for the products.
/// </summary>
public interface ICpuPammWorkload
{
    /// <summary>The compressed X the products use.</summary>
    ICompressedActivation Compressed { get; }

    /// <summary>Compresses X.</summary>
    void Compress();

    /// <summary>One approximate product Xᵀ G from the compressed X.</summary>
    void ApproxMatmul();

    /// <summary>Compresses X, then three approximate products against the Q, K and V gradients.</summary>
    void CompressAndQkv();
}
