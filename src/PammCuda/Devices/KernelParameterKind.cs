namespace PammCuda.Devices;

/// <summary>What a kernel parameter is, as far as packing its argument goes: its C type reduced to size and kind.</summary>
internal enum KernelParameterKind
{
    /// <summary>Any pointer (<c>T*</c>, <c>const T* __restrict__</c>): a 64-bit device address.</summary>
    Pointer,

    /// <summary><c>int</c>.</summary>
    Int32,

    /// <summary><c>unsigned int</c>.</summary>
    UInt32,

    /// <summary><c>long long</c>.</summary>
    Int64,

    /// <summary><c>unsigned long long</c>.</summary>
    UInt64,

    /// <summary><c>float</c>.</summary>
    Float32,
}
