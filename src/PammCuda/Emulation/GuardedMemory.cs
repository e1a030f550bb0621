using System.Runtime.InteropServices;

namespace PammCuda.Emulation;

/// <summary>
/// The emulated device's memory: each allocation is host memory with a guard region before and after it,
/// filled with a pattern that <see cref="FindOverwrittenGuard"/> checks, so an out-of-bounds write shows up
/// right after the operation that made it. Fresh memory is filled with byte pairs (v, 0xFF), v in 0xF1..0xFF and different
/// from one allocation to the next: NaN in float64, float32, float16 and bfloat16 and negative in every integer, so that
/// reading scratch nobody wrote shows in the results; and, as on a GPU, two fresh allocations never hold the same bytes,
/// so that a comparison of two buffers that takes in bytes nobody wrote (alignment padding) fails here too.
/// </summary>
internal sealed unsafe class GuardedMemory : IDisposable
{
    /// <summary>Bytes of guard on each side of an allocation; also the alignment of every allocation.</summary>
    public const int GuardBytes = 256;

    private const byte GuardPattern = 0xA5;
    private const byte UninitialisedHighByte = 0xFF;
    private const int UninitialisedLowBytes = 15;

    private int _allocations;

    private readonly Dictionary<ulong, long> _sizes = [];
    private readonly Lock _lock = new();

    /// <summary>Allocates <paramref name="bytes"/> guarded bytes, filled with this allocation's uninitialised pattern, and returns their address.</summary>
    public ulong Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var total = checked((nuint)(bytes + 2 * GuardBytes));
        var block = (byte*)NativeMemory.AlignedAlloc(total, GuardBytes);
        new Span<byte>(block, GuardBytes).Fill(GuardPattern);
        FillUninitialised(block + GuardBytes, bytes, (byte)(0xF1 + Interlocked.Increment(ref _allocations) % UninitialisedLowBytes));
        new Span<byte>(block + GuardBytes + bytes, GuardBytes).Fill(GuardPattern);
        var address = (ulong)(block + GuardBytes);
        lock (_lock) _sizes.Add(address, bytes);
        return address;
    }

    /// <summary>Frees an allocation; returns false when <paramref name="address"/> is not one (already freed, or another device's).</summary>
    public bool Free(ulong address)
    {
        lock (_lock)
        {
            if (!_sizes.Remove(address)) return false;
        }
        NativeMemory.AlignedFree((byte*)address - GuardBytes);
        return true;
    }

    /// <summary>True when <paramref name="bytes"/> bytes from <paramref name="address"/> lie inside one live allocation.</summary>
    public bool Contains(ulong address, long bytes)
    {
        if (bytes < 0) return false;
        lock (_lock)
        {
            foreach (var (start, size) in _sizes)
                if (address >= start && address - start <= (ulong)size && (ulong)bytes <= (ulong)size - (address - start)) return true;
        }
        return false;
    }

    /// <summary>
    /// Describes the first allocation whose guard was overwritten and restores the guard (so that the next
    /// check reports only new damage); null when all guards are intact.
    /// </summary>
    public string? FindOverwrittenGuard()
    {
        lock (_lock)
        {
            foreach (var (address, size) in _sizes)
            {
                var before = new Span<byte>((byte*)address - GuardBytes, GuardBytes);
                var after = new Span<byte>((byte*)address + size, GuardBytes);
                int beforeIndex = before.LastIndexOfAnyExcept(GuardPattern);
                int afterIndex = after.IndexOfAnyExcept(GuardPattern);
                if (beforeIndex < 0 && afterIndex < 0) continue;
                before.Fill(GuardPattern);
                after.Fill(GuardPattern);
                long offset = afterIndex >= 0 ? size + afterIndex : beforeIndex - GuardBytes;
                return $"out-of-bounds write at byte offset {offset} of the {size}-byte buffer at 0x{address:x}";
            }
        }
        return null;
    }

    /// <summary>Frees every allocation.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var address in _sizes.Keys) NativeMemory.AlignedFree((byte*)address - GuardBytes);
            _sizes.Clear();
        }
    }

    /// <summary>Fills <paramref name="bytes"/> bytes with pairs (<paramref name="low"/>, 0xFF), little-endian 16-bit words 0xFF<paramref name="low"/>.</summary>
    private static void FillUninitialised(byte* destination, long bytes, byte low)
    {
        ushort word = (ushort)(UninitialisedHighByte << 8 | low);
        long words = bytes / 2;
        for (long offset = 0; offset < words; offset += int.MaxValue)
            new Span<ushort>((ushort*)destination + offset, (int)Math.Min(int.MaxValue, words - offset)).Fill(word);
        if (bytes % 2 != 0) destination[bytes - 1] = low;
    }

    /// <summary>Sets <paramref name="bytes"/> bytes (a length a span cannot hold) to <paramref name="value"/>.</summary>
    public static void FillBytes(byte* destination, long bytes, byte value)
    {
        for (long offset = 0; offset < bytes; offset += int.MaxValue)
            new Span<byte>(destination + offset, (int)Math.Min(int.MaxValue, bytes - offset)).Fill(value);
    }
}
