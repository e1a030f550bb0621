namespace PammCuda.Cli;

/// <summary>A file that is not a .npy array this program can read; the message says what is wrong with it.</summary>
internal sealed class NpyFormatException(string message) : Exception(message);
