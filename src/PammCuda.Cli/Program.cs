using System.CommandLine;
using PammCuda.Cuda;
using PammCuda.Devices;

namespace PammCuda.Cli;

/// <summary>The <c>pamm</c> command: runs PAMM on generated or user data and reports memory, error and time.</summary>
internal static class Program
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs one command line, writing the report to <paramref name="output"/> and problems, one line each, to <paramref name="error"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            ParseResult result = Commands.Parse(args);
            if (result.Errors.Count > 0)
                return Complain(error, UsageMessage.Of(result), UsageError);
            // Exceptions come to the handlers below: System.CommandLine's own handler would print a stack trace.
            return result.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            return Complain(error, e.Message, UsageError);
        }
        catch (CommandFailedException e)
        {
            return Complain(error, e.Message, Failure);
        }
        // CUDA that cannot be used, or NVRTC or cuBLAS missing on a GPU host: the environment, not a bug.
        catch (Exception e) when (e is DeviceUnavailableException or CudaLibraryNotFoundException)
        {
            return Complain(error, e.Message, Failure);
        }
        catch (OutOfMemoryException)
        {
            return Complain(error, "not enough memory for matrices this large; try smaller ones", Failure);
        }
#pragma warning disable CA1031 // A command-line user gets one line, never a stack trace, even from a bug.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Complain(error, $"unexpected {e.GetType().Name}: {e.Message}", Failure);
        }
    }

    /// <summary>
    /// Writes "pamm: message" to <paramref name="error"/> and returns <paramref name="exitCode"/>. A stderr that cannot be
    /// written (a full disk, a closed descriptor) loses the line but not the exit code: the process must not abort.
    /// </summary>
    private static int Complain(TextWriter error, string message, int exitCode)
    {
        try
        {
            error.WriteLine($"pamm: {message}");
            error.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Nowhere left to say it; the exit code still tells.
        }
        return exitCode;
    }
}
