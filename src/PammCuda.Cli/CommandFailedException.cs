namespace PammCuda.Cli;

/// <summary>A command that could not do its work (exit code 1), for example an unreadable or malformed input file.</summary>
internal sealed class CommandFailedException(string message, Exception? inner = null) : Exception(message, inner);
