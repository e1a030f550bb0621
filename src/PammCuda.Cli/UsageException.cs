namespace PammCuda.Cli;

/// <summary>A command line this program cannot act on (exit code 2); the message names the command or option at fault.</summary>
internal sealed class UsageException(string message) : Exception(message);
