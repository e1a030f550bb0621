using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace PammCuda.Cli;

/// <summary>What the header of a 2-D .npy file says: element type and shape.</summary>
internal sealed record NpyHeader(DType DType, int Rows, int Columns)
{
    public long DataBytes => (long)Rows * Columns * DType.SizeOf();
}

/// <summary>
/// Reads NumPy's .npy format (versions 1.0, 2.0 and 3.0): the magic string, the version, a header
/// that is a Python dict literal with exactly the keys <c>descr</c>, <c>fortran_order</c> and
/// <c>shape</c>, then the raw elements. Accepts little-endian float32 (<c>&lt;f4</c>) and float16
/// (<c>&lt;f2</c>) matrices in C order; everything else is rejected with a message saying why.
/// </summary>
internal static class NpyReader
{
    /// <summary>numpy refuses longer headers by default (<c>max_header_size</c>) for the same reason: a corrupt length must not allocate gigabytes.</summary>
    public const int MaxHeaderLength = 10_000;

    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // Keeps each span handed to Stream.Read below int.MaxValue bytes whatever the element type.
    private const int ElementsPerRead = 1 << 26;

    /// <summary>Reads a whole .npy file; <paramref name="checkHeader"/> sees the header before the data is read, so a file the caller cannot use fails before it is loaded.</summary>
    public static HostMatrix Read(string path, Action<NpyHeader>? checkHeader = null)
    {
        using var stream = File.OpenRead(path);
        NpyHeader header = ReadHeader(stream);
        checkHeader?.Invoke(header);
        return ReadData(stream, header);
    }

    /// <summary>Reads and validates the header, leaving <paramref name="stream"/> at the first data byte.</summary>
    public static NpyHeader ReadHeader(Stream stream)
    {
        Span<byte> preamble = stackalloc byte[8];
        if (stream.ReadAtLeast(preamble, preamble.Length, throwOnEndOfStream: false) < preamble.Length || !preamble[..6].SequenceEqual(Magic))
            throw new NpyFormatException("not a .npy file (it does not start with the magic string \\x93NUMPY)");
        byte major = preamble[6], minor = preamble[7];
        if (major is < 1 or > 3 || minor != 0)
            throw new NpyFormatException($"unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)");

        Span<byte> lengthBytes = stackalloc byte[major == 1 ? 2 : 4];
        if (stream.ReadAtLeast(lengthBytes, lengthBytes.Length, throwOnEndOfStream: false) < lengthBytes.Length)
            throw new NpyFormatException("truncated header");
        long headerLength = major == 1 ? BitConverter.ToUInt16(lengthBytes) : BitConverter.ToUInt32(lengthBytes);
        if (headerLength > MaxHeaderLength)
            throw new NpyFormatException($"header of {headerLength} bytes is longer than the {MaxHeaderLength} bytes allowed");

        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerBytes.Length)
            throw new NpyFormatException("truncated header");
        // Versions 1 and 2 store the header in latin-1; version 3 exists only to allow UTF-8.
        Encoding encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        return Interpret(HeaderDictionary.Parse(encoding.GetString(headerBytes)));
    }

    /// <summary>Reads the elements that follow a header read by <see cref="ReadHeader"/>; the stream must end right after them.</summary>
    public static HostMatrix ReadData(Stream stream, NpyHeader header) => header.DType switch
    {
        DType.Float32 => ReadData<float>(stream, header),
        DType.Float16 => ReadData<Half>(stream, header),
        _ => throw new ArgumentOutOfRangeException(nameof(header), header.DType, "Only float32 and float16 .npy data is read."),
    };

    private static HostMatrix<T> ReadData<T>(Stream stream, NpyHeader header) where T : unmanaged
    {
        // A file's length is known before anything is allocated: a truncated file whose header claims a huge shape is
        // reported as truncated, not as a failed allocation.
        if (stream.CanSeek && stream.Length - stream.Position < header.DataBytes)
            throw Truncated(header, stream.Length - stream.Position);
        var data = new T[(long)header.Rows * header.Columns];
        long bytesRead = 0;
        for (long start = 0; start < data.LongLength; start += ElementsPerRead)
        {
            int count = (int)Math.Min(ElementsPerRead, data.LongLength - start);
            Span<byte> chunk = MemoryMarshal.AsBytes(data.AsSpan((int)start, count));
            int read = stream.ReadAtLeast(chunk, chunk.Length, throwOnEndOfStream: false);
            bytesRead += read;
            if (read < chunk.Length)
                throw Truncated(header, bytesRead);
        }
        if (stream.ReadByte() != -1)
            throw new NpyFormatException($"unexpected bytes after the {header.DataBytes} data bytes of a {header.Rows} x {header.Columns} {header.DType.ShortName()} array");
        return new HostMatrix<T>(header.Rows, header.Columns, data);
    }

    private static NpyFormatException Truncated(NpyHeader header, long bytesFollowing) =>
        new($"truncated data: the header describes {header.Rows} x {header.Columns} {header.DType.ShortName()} ({header.DataBytes} bytes) but only {bytesFollowing} bytes follow it");

    private static NpyHeader Interpret(Dictionary<string, object> dictionary)
    {
        string[] expectedKeys = ["descr", "fortran_order", "shape"];
        if (dictionary.Count != expectedKeys.Length || !expectedKeys.All(dictionary.ContainsKey))
            throw new NpyFormatException($"the header must have exactly the keys descr, fortran_order and shape; it has {string.Join(", ", dictionary.Keys)}");

        DType dtype = dictionary["descr"] switch
        {
            "<f4" => DType.Float32,
            "<f2" => DType.Float16,
            ">f4" or ">f2" => throw new NpyFormatException("big-endian data is not supported; save it with arr.astype('<f4')"),
            string other => throw new NpyFormatException($"dtype '{other}' is not supported; save float32 ('<f4') or float16 ('<f2')"),
            _ => throw new NpyFormatException("the header's descr is not a simple dtype string; save float32 ('<f4') or float16 ('<f2')"),
        };
        switch (dictionary["fortran_order"])
        {
            case false: break;
            case true: throw new NpyFormatException("Fortran-order arrays are not supported; save np.ascontiguousarray(arr)");
            default: throw new NpyFormatException("the header's fortran_order is not True or False");
        }
        if (dictionary["shape"] is not long[] shape)
            throw new NpyFormatException("the header's shape is not a tuple of integers");
        string shapeText = FormatShape(shape);
        if (shape.Length != 2)
            throw new NpyFormatException($"expected a 2-D matrix, got shape {shapeText}");
        if (shape[0] < 1 || shape[1] < 1)
            throw new NpyFormatException($"the matrix is empty (shape {shapeText})");
        if (shape[0] > int.MaxValue || shape[1] > int.MaxValue || shape[0] * shape[1] > Array.MaxLength)
            throw new NpyFormatException($"shape {shapeText} is too large to hold in one array");
        return new NpyHeader(dtype, (int)shape[0], (int)shape[1]);
    }

    private static string FormatShape(long[] shape) => shape.Length == 1
        ? $"({shape[0]},)"
        : $"({string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))})";

    /// <summary>
    /// Parses the Python dict literal of a .npy header: string keys; values that are strings,
    /// True/False or tuples of non-negative integers (as <see cref="long"/>[]), which is all numpy writes.
    /// </summary>
    private ref struct HeaderDictionary
    {
        private readonly ReadOnlySpan<char> text;
        private int position;

        private HeaderDictionary(ReadOnlySpan<char> text) => this.text = text;

        public static Dictionary<string, object> Parse(string header)
        {
            var parser = new HeaderDictionary(header);
            Dictionary<string, object> result = parser.ParseDictionary();
            parser.SkipWhitespace();
            if (parser.position != parser.text.Length)
                throw parser.Error("unexpected text after the dictionary");
            return result;
        }

        private Dictionary<string, object> ParseDictionary()
        {
            Expect('{');
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            while (!TryConsume('}'))
            {
                string key = ParseString();
                Expect(':');
                if (!result.TryAdd(key, ParseValue()))
                    throw Error($"key '{key}' appears twice");
                if (!TryConsume(','))
                {
                    Expect('}');
                    break;
                }
            }
            return result;
        }

        private object ParseValue()
        {
            SkipWhitespace();
            if (position < text.Length && text[position] is '\'' or '"') return ParseString();
            if (position < text.Length && text[position] == '(') return ParseTuple();
            if (TryConsumeWord("True")) return true;
            if (TryConsumeWord("False")) return false;
            throw Error("expected a string, True, False or a tuple");
        }

        private long[] ParseTuple()
        {
            Expect('(');
            var items = new List<long>();
            while (!TryConsume(')'))
            {
                items.Add(ParseInteger());
                if (!TryConsume(','))
                {
                    Expect(')');
                    break;
                }
            }
            return [.. items];
        }

        private long ParseInteger()
        {
            SkipWhitespace();
            int start = position;
            while (position < text.Length && char.IsAsciiDigit(text[position])) position++;
            if (position == start || !long.TryParse(text[start..position], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                throw Error("expected a non-negative integer");
            // Python 2 wrote long integers with an L suffix.
            if (position < text.Length && text[position] == 'L') position++;
            return value;
        }

        private string ParseString()
        {
            SkipWhitespace();
            if (position >= text.Length || text[position] is not ('\'' or '"'))
                throw Error("expected a quoted string");
            char quote = text[position++];
            int end = text[position..].IndexOf(quote);
            if (end < 0) throw Error("unterminated string");
            string value = text.Slice(position, end).ToString();
            position += end + 1;
            return value;
        }

        private bool TryConsumeWord(string word)
        {
            if (!text[position..].StartsWith(word, StringComparison.Ordinal)) return false;
            position += word.Length;
            return true;
        }

        private bool TryConsume(char c)
        {
            SkipWhitespace();
            if (position >= text.Length || text[position] != c) return false;
            position++;
            return true;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c)) throw Error($"expected '{c}'");
        }

        private void SkipWhitespace()
        {
            while (position < text.Length && char.IsWhiteSpace(text[position])) position++;
        }

        private readonly NpyFormatException Error(string what) =>
            new($"malformed header ({what} at character {position}): {text.ToString().TrimEnd()}");
    }
}
