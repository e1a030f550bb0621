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
    /// pamm.h's string rule. The buffer arguments are checked before <paramref name="text"/> is asked for, so a bad
    /// buffer is reported as such even when producing the text would fail. <c>*length</c> always gets the UTF-8 byte
    /// length without the NUL. A size query (<c>buffer == NULL</c>, <c>capacity == 0</c>) writes nothing else and
    /// succeeds; a buffer gets the text and a NUL when they fit, else nothing and <see cref="PammStatus.BufferTooSmall"/>.
    /// </summary>
    /// <param name="function">The export's C name, for the message of a too-small buffer.</param>
    /// <param name="text">Produces the string; called after the buffer arguments are checked.</param>
    /// <param name="buffer">The caller's buffer, or null for a size query.</param>
    /// <param name="capacity">The buffer's size in bytes, NUL included.</param>
    /// <param name="length">Receives the text's byte length without the NUL.</param>
    public static PammStatus CopyOut(string function, Func<string> text, byte* buffer, nuint capacity, nuint* length)
    {
        NativeArguments.NotNull(length, "length");
        if (buffer is null && capacity != 0)
            throw new ArgumentNullException(nameof(buffer), $"buffer is NULL but capacity is {capacity}; pass capacity 0 to ask for the length.");
        string value = text();
        int byteCount = Encoding.UTF8.GetByteCount(value);
        *length = (nuint)byteCount;
        if (buffer is null)
            return ExportErrors.Success();
        if (capacity <= (nuint)byteCount)
        {
            LastError.Set($"{function}: the text needs {byteCount + 1} bytes with its NUL but capacity is {capacity}.");
            return PammStatus.BufferTooSmall;
        }
        Encoding.UTF8.GetBytes(value, new Span<byte>(buffer, byteCount));
        buffer[byteCount] = 0;
        return ExportErrors.Success();
    }
}
