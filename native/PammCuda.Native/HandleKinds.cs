namespace PammCuda.Native;

/// <summary>The C names of the handle kinds, for error messages.</summary>
internal static class HandleKinds
{
    public const string Engine = "pamm_engine";
    public const string Compressed = "pamm_compressed";

    public static string NameOf(object target) => target switch
    {
        EngineHandle => Engine,
        CompressedHandle => Compressed,
        _ => target.GetType().Name,
    };
}
