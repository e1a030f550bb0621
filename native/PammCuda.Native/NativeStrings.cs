using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace PammCuda.Native;

/// <summary>Strings handed to C: static literals, and copies into caller buffers by pamm.h's string rule.</summary>
internal static unsafe class NativeStrings
{
    /// <summary>A static, NUL-terminated "".</summary>
    public static byte* Empty => Literal("\0"u8);

    /// <summary>
    /// The address of a NUL-terminated UTF-8 literal. Literals live in the image's read-only data, which never moves,
    /// so the pointer is valid for the life of the process.
    /// </summary>
    public static byte* Literal(ReadOnlySpan<byte> literalWithNul) =>
        (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(literalWithNul));

    /// <summary>
    /// pamm.h's string rule: <c>*length</c> gets the UTF-8 byte length without the NUL; the text and a NUL are written
    /// only when they fit in <paramref name="capacity"/>, else the result is <see cref="PammStatus.BufferTooSmall"/>.
    /// </summary>
    public static PammStatus CopyOut(string text, byte* buffer, nuint capacity, nuint* length)
    {
        NativeArguments.NotNull(length, "length");
        if (buffer is null && capacity != 0)
            throw new ArgumentNullException(nameof(buffer), $"buffer is NULL but capacity is {capacity}; pass capacity 0 to ask for the length.");
        int byteCount = Encoding.UTF8.GetByteCount(text);
        *length = (nuint)byteCount;
        if (capacity <= (nuint)byteCount)
        {
            LastError.Set($"the text needs {byteCount + 1} bytes with its NUL but capacity is {capacity}.");
            return PammStatus.BufferTooSmall;
        }
        Encoding.UTF8.GetBytes(text, new Span<byte>(buffer, byteCount));
        buffer[byteCount] = 0;
        LastError.Clear();
        return PammStatus.Ok;
    }
}
