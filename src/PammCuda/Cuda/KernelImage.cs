namespace PammCuda.Cuda;

/// <summary>What NVRTC produced: machine code for one architecture, or PTX that the driver compiles on load.</summary>
internal enum KernelImageFormat
{
    /// <summary>A CUBIN (ELF) for an <c>sm_XY</c> architecture.</summary>
    Cubin,

    /// <summary>PTX for a <c>compute_XY</c> virtual architecture, JIT-compiled by the driver.</summary>
    Ptx,
}

/// <summary>A compiled translation unit, ready for <see cref="CudaComputeDevice.LoadModule"/>.</summary>
internal sealed class KernelImage
{
    internal KernelImage(string programName, byte[] bytes, KernelImageFormat format, string architecture, string log, bool fromCache)
    {
        ProgramName = programName;
        Bytes = bytes;
        Format = format;
        Architecture = architecture;
        Log = log;
        FromCache = fromCache;
    }

    /// <summary>The name the source was compiled under (its file name), used in logs and errors.</summary>
    public string ProgramName { get; }

    /// <summary>The CUBIN or the NUL-terminated PTX text.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>CUBIN or PTX.</summary>
    public KernelImageFormat Format { get; }

    /// <summary>The NVRTC target: <c>sm_XY</c> for a CUBIN, <c>compute_XY</c> for PTX.</summary>
    public string Architecture { get; }

    /// <summary>NVRTC's warnings (empty for an image read from the cache).</summary>
    public string Log { get; }

    /// <summary>True when the image came from the <see cref="PammCuda.Devices.KernelImageCache"/> instead of NVRTC.</summary>
    public bool FromCache { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{ProgramName} ({Format}, {Architecture}, {Bytes.Length} bytes)";
}
