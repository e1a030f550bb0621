namespace PammCuda.Interop;

/// <summary>
/// One attempt at loading a library: <see cref="Path"/> is a bare soname (left to the system loader) or a full
/// path. <see cref="Preload"/>, when set, is loaded first because <see cref="Path"/> depends on it and the
/// system loader may not find it on its own (libcublas needs libcublasLt of the same version).
/// </summary>
internal readonly record struct LibraryCandidate(string Path, string? Preload = null);
