using System.Runtime.CompilerServices;

// Every P/Invoke of this assembly passes blittable values only (nint, integers, pointers, handle structs),
// so the runtime never marshals and the generated stubs are plain calls.
[assembly: DisableRuntimeMarshalling]
