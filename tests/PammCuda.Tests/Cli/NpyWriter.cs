using System.Runtime.InteropServices;
using System.Text;

namespace PammCuda.Tests.Cli;

/// <summary>Writes .npy files byte for byte as numpy.save does (header padded to 64 bytes), and crafted ones for error tests.</summary>
internal static class NpyWriter
{
    public static byte[] Encode<T>(T[] data, int rows, int columns) where T : unmanaged
    {
        string descr = typeof(T) == typeof(float) ? "<f4" : typeof(T) == typeof(Half) ? "<f2" : throw new NotSupportedException(typeof(T).Name);
        return Encode(Dictionary(descr, fortranOrder: false, $"({rows}, {columns})"), MemoryMarshal.AsBytes(data.AsSpan()));
    }

    public static string Dictionary(string descr, bool fortranOrder, string shape) =>
        $"{{'descr': '{descr}', 'fortran_order': {(fortranOrder ? "True" : "False")}, 'shape': {shape}, }}";

    /// <summary>Magic, version, header length, the dictionary padded with spaces and a newline, then the data.</summary>
    public static byte[] Encode(string dictionary, ReadOnlySpan<byte> data, byte majorVersion = 1)
    {
        int lengthField = majorVersion == 1 ? 2 : 4;
        byte[] dictionaryBytes = (majorVersion == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(dictionary);
        int padding = 64 - ((6 + 2 + lengthField + dictionaryBytes.Length + 1) % 64);
        int headerLength = dictionaryBytes.Length + padding + 1;

        var file = new MemoryStream();
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', majorVersion, 0]);
        file.Write(majorVersion == 1 ? BitConverter.GetBytes((ushort)headerLength) : BitConverter.GetBytes((uint)headerLength));
        file.Write(dictionaryBytes);
        file.Write(Encoding.ASCII.GetBytes(new string(' ', padding) + "\n"));
        file.Write(data);
        return file.ToArray();
    }
}
