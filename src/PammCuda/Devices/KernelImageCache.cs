using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace PammCuda.Devices;

/// <summary>
/// An on-disk cache of compiled kernel images (NVRTC CUBIN/PTX, or the emulated device's shared
/// library), keyed by a hash of everything that decides the output. Writes are atomic (temp file +
/// rename) and every entry carries a SHA-256 of its payload, so a torn or corrupt entry is detected,
/// deleted and rebuilt instead of loaded.
/// </summary>
internal sealed class KernelImageCache
{
    /// <summary>Environment variable that overrides the cache directory.</summary>
    public const string DirectoryVariable = "PAMMCUDA_CACHE_DIR";

    private static ReadOnlySpan<byte> Magic => "PAMMIMG1"u8;

    /// <summary>A cache in <paramref name="directory"/>, or in <c>$PAMMCUDA_CACHE_DIR</c>, or the user's cache directory.</summary>
    public KernelImageCache(string? directory = null)
    {
        Directory = directory
            ?? Environment.GetEnvironmentVariable(DirectoryVariable)
            ?? Path.Combine(DefaultCacheRoot(), "pammcuda", "kernels");
    }

    /// <summary>Where entries live.</summary>
    public string Directory { get; }

    /// <summary>A hex SHA-256 over the given parts, each length-prefixed so that no two part lists collide.</summary>
    public static string Key(params ReadOnlySpan<string> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var part in parts)
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The path an entry of <paramref name="key"/> with <paramref name="extension"/> lives at.</summary>
    public string PathOf(string key, string extension) => Path.Combine(Directory, key + extension);

    /// <summary>Returns the cached payload, or builds, stores and returns it. A corrupt entry is rebuilt.</summary>
    public byte[] GetOrAdd(string key, Func<byte[]> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        var path = PathOf(key, ".img");
        if (TryRead(path) is { } cached) return cached;
        var payload = build();
        Write(path, payload);
        return payload;
    }

    /// <summary>True when a valid entry exists for <paramref name="key"/>.</summary>
    public bool Contains(string key) => TryRead(PathOf(key, ".img")) is not null;

    private static byte[]? TryRead(string path)
    {
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        int header = Magic.Length + 32;
        if (file.Length >= header && file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            var payload = file.AsSpan(header);
            if (SHA256.HashData(payload).AsSpan().SequenceEqual(file.AsSpan(Magic.Length, 32))) return payload.ToArray();
        }
        TryDelete(path);
        return null;
    }

    private void Write(string path, byte[] payload)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Magic);
                stream.Write(SHA256.HashData(payload));
                stream.Write(payload);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        // A cache that cannot be written only costs a recompile next time; compiling must not fail for it.
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string DefaultCacheRoot()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return xdg;
        var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        if (OperatingSystem.IsWindows() && !string.IsNullOrEmpty(local)) return local;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? Path.GetTempPath() : Path.Combine(home, ".cache");
    }
}
