using System.Runtime.CompilerServices;
using PammCuda.Cuda;
using PammCuda.Devices;

namespace PammCuda.Native;

/// <summary>How every export ends: success clears the thread's message; an exception becomes a status and a message.</summary>
internal static class ExportErrors
{
    public static PammStatus Success()
    {
        LastError.Clear();
        return PammStatus.Ok;
    }

    /// <summary>
    /// <see cref="Fail(string, Exception)"/> from an export, whose method is named after its entry point (as pamm.h
    /// spells it), so the name in the message cannot drift from the export's.
    /// </summary>
    public static PammStatus Fail(Exception exception, [CallerMemberName] string function = "") => Fail(function, exception);

    /// <summary>Records "<paramref name="function"/>: message" as the thread's last error and returns the exception's status.</summary>
    public static PammStatus Fail(string function, Exception exception)
    {
        PammStatus status = StatusOf(exception);
        // A backend failure's type (CudaException, NvrtcException, ...) is part of what went wrong.
        string detail = status == PammStatus.Runtime ? $"{exception.GetType().Name}: {exception.Message}" : exception.Message;
        LastError.Set(OneLine($"{function}: {detail}"));
        return status;
    }

    /// <summary>
    /// The message on one line, as pamm.h promises: .NET puts "Actual value was …" of a range check, and NVRTC its log,
    /// on lines of their own.
    /// </summary>
    internal static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static PammStatus StatusOf(Exception exception) => exception switch
    {
        InvalidHandleException or ObjectDisposedException => PammStatus.InvalidHandle,
        DeviceUnavailableException => PammStatus.CudaUnavailable,
        ArgumentException or NotSupportedException => PammStatus.InvalidArgument,
        // Host memory, emulated device memory, or a CUDA library out of memory (pamm.h promises this status for all three).
        OutOfMemoryException or CudaLibraryException { IsOutOfMemory: true } => PammStatus.OutOfMemory,
        _ => PammStatus.Runtime,
    };
}
