namespace PammCuda.Native;

/// <summary>
/// The objects behind the opaque handles given to C callers. A handle is a number issued once and never
/// reused, so a stale or doubly freed handle is always recognised as such instead of reaching a newer object
/// (a raw <c>GCHandle</c> cannot promise that: its slot is recycled). The table roots what it holds.
/// </summary>
internal static class HandleTable
{
    // Issued values look like aligned pointers far from small integers, so (void*)1 or a truncated value is never valid.
    private const long FirstHandle = 0x5A_4D00_0000_0000;
    private const long HandleStep = 16;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<nint, object> Objects = [];
    private static long _lastHandle = FirstHandle;

    /// <summary>The number of live handles.</summary>
    public static int Count
    {
        get
        {
            lock (Gate) return Objects.Count;
        }
    }

    /// <summary>The number of live handles whose object is a <typeparamref name="T"/>.</summary>
    public static int CountOf<T>() where T : class
    {
        lock (Gate) return Objects.Values.Count(target => target is T);
    }

    /// <summary>Issues a new handle for <paramref name="target"/>.</summary>
    public static nint Add(object target)
    {
        lock (Gate)
        {
            _lastHandle += HandleStep;
            var handle = (nint)_lastHandle;
            Objects.Add(handle, target);
            return handle;
        }
    }

    /// <summary>The object behind <paramref name="handle"/>, which must be a <typeparamref name="T"/>.</summary>
    /// <exception cref="ArgumentNullException">The handle is null.</exception>
    /// <exception cref="InvalidHandleException">Freed, never issued, or of another kind.</exception>
    public static T Get<T>(nint handle, string argumentName, string kindName) where T : class
    {
        lock (Gate) return Lookup<T>(handle, argumentName, kindName);
    }

    /// <summary>Removes <paramref name="handle"/> and returns its object; the handle is invalid from now on.</summary>
    /// <inheritdoc cref="Get{T}(nint, string, string)"/>
    public static T Remove<T>(nint handle, string argumentName, string kindName) where T : class
    {
        lock (Gate)
        {
            T target = Lookup<T>(handle, argumentName, kindName);
            Objects.Remove(handle);
            return target;
        }
    }

    private static T Lookup<T>(nint handle, string argumentName, string kindName) where T : class
    {
        if (handle == 0) throw new ArgumentNullException(argumentName, $"{argumentName} is NULL.");
        if (!Objects.TryGetValue(handle, out object? target))
            throw new InvalidHandleException($"{argumentName} (0x{handle:x}) is not a live handle: it was freed already or never created by this library.");
        return target as T
            ?? throw new InvalidHandleException($"{argumentName} (0x{handle:x}) is a {HandleKinds.NameOf(target)}, not a {kindName}.");
    }
}
