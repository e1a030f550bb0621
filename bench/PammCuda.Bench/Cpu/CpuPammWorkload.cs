using PammCuda.Bench.Harness;
using PammCuda.Cpu;

namespace PammCuda.Bench.Cpu;

/// <summary>PAMM on the CPU backend for one element type; products are Xᵀ G (n × m) in <typeparamref name="T"/>.</summary>
public sealed class CpuPammWorkload<T> : ICpuPammWorkload where T : unmanaged
{
    private readonly int _rows;
    private readonly int _width;
    private readonly PammOptions _options;
    private readonly T[] _x;
    private readonly T[][] _gradients;
    private readonly T[][] _outputs;
    private readonly CpuCompressedActivation<T> _compressed;

    /// <summary>Prepares random X (rows × width) and three G (rows × width), and compresses X once.</summary>
    public CpuPammWorkload(int rows, int width, PammOptions options)
    {
        _rows = rows;
        _width = width;
        _options = options;
        _x = HostData.Uniform<T>((long)rows * width, seed: 1);
        _gradients = [.. Enumerable.Range(2, 3).Select(seed => HostData.Uniform<T>((long)rows * width, seed))];
        _outputs = [.. Enumerable.Range(0, 3).Select(_ => new T[(long)width * width])];
        _compressed = CpuPamm.Compress<T>(_x, rows, width, options);
    }

    /// <inheritdoc/>
    public ICompressedActivation Compressed => _compressed;

    /// <inheritdoc/>
    public void Compress() => GC.KeepAlive(CpuPamm.Compress<T>(_x, _rows, _width, _options));

    /// <inheritdoc/>
    public void ApproxMatmul() => CpuPamm.ApproxMatmul<T, T, T>(_compressed, _gradients[0], _width, _outputs[0]);

    /// <inheritdoc/>
    public void CompressAndQkv()
    {
        var compressed = CpuPamm.Compress<T>(_x, _rows, _width, _options);
        for (int projection = 0; projection < 3; projection++)
            CpuPamm.ApproxMatmul<T, T, T>(compressed, _gradients[projection], _width, _outputs[projection]);
    }
}
