using System.Runtime.InteropServices;
using System.Text;

namespace PammCuda.Native;

/// <summary>
/// The calling thread's <c>pamm_last_error()</c> text: a NUL-terminated UTF-8 buffer in native memory, so the pointer
/// handed to C stays valid until that thread's next call. The buffer grows as needed, lives as long as the thread, and
/// is freed after it ends (a thread-static object's finalizer): threads that come and go leak nothing.
/// </summary>
internal static unsafe class LastError
{
    [ThreadStatic] private static ThreadBuffer? t_buffer;

    /// <summary>The current text; a static "" when the thread has none.</summary>
    public static byte* Pointer => t_buffer is { } buffer ? buffer.Text : NativeStrings.Empty;

    public static void Clear()
    {
        if (t_buffer is { } buffer) *buffer.Text = 0;
    }

    public static void Set(string message)
    {
        int length = Encoding.UTF8.GetByteCount(message);
        var buffer = t_buffer ??= new ThreadBuffer();
        buffer.EnsureCapacity((nuint)length + 1);
        Encoding.UTF8.GetBytes(message, new Span<byte>(buffer.Text, length));
        buffer.Text[length] = 0;
    }

    private sealed class ThreadBuffer
    {
        private nuint _capacity;

        public byte* Text { get; private set; }

        public void EnsureCapacity(nuint required)
        {
            if (_capacity >= required) return;
            Text = (byte*)NativeMemory.Realloc(Text, required);
            _capacity = required;
        }

        ~ThreadBuffer() => NativeMemory.Free(Text);
    }
}
