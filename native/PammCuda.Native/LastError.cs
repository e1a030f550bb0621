using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace PammCuda.Native;

/// <summary>
/// The calling thread's <c>pamm_last_error()</c> text: a NUL-terminated UTF-8 buffer in native memory, so the pointer
/// handed to C stays valid until that thread's next call. The buffer grows as needed and is kept for the thread's life.
/// </summary>
internal static unsafe class LastError
{
    [ThreadStatic] private static byte* t_text;
    [ThreadStatic] private static nuint t_capacity;

    /// <summary>The current text; a static "" when the thread has none.</summary>
    public static byte* Pointer => t_text is null ? NativeStrings.Empty : t_text;

    public static void Clear()
    {
        if (t_text is not null) *t_text = 0;
    }

    public static void Set(string message)
    {
        int length = Encoding.UTF8.GetByteCount(message);
        nuint required = (nuint)length + 1;
        if (t_capacity < required)
        {
            t_text = (byte*)NativeMemory.Realloc(t_text, required);
            t_capacity = required;
        }
        Encoding.UTF8.GetBytes(message, new Span<byte>(t_text, length));
        t_text[length] = 0;
    }
}
