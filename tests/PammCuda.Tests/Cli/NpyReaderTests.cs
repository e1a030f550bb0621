using PammCuda.Cli;

namespace PammCuda.Tests.Cli;

public class NpyReaderTests
{
    [Test]
    public void Reads_numpy_float32_matrix_with_exact_values()
    {
        var matrix = (HostMatrix<float>)NpyReader.Read(Fixtures.Path("x_f32.npy"));
        Assert.That((matrix.Rows, matrix.Columns, matrix.DType), Is.EqualTo((6, 4, DType.Float32)));
        Assert.That(matrix.Data, Is.EqualTo(Fixtures.X()));
    }

    [Test]
    public void Reads_numpy_float16_matrix_with_exact_values()
    {
        var matrix = (HostMatrix<Half>)NpyReader.Read(Fixtures.Path("x_f16.npy"));
        Assert.That((matrix.Rows, matrix.Columns, matrix.DType), Is.EqualTo((6, 4, DType.Float16)));
        Assert.That(matrix.Data.Select(h => (float)h), Is.EqualTo(Fixtures.X()));
    }

    [TestCase("x_f32_v2.npy")]
    [TestCase("x_f32_v3.npy")]
    public void Reads_format_versions_2_and_3(string name)
    {
        var matrix = (HostMatrix<float>)NpyReader.Read(Fixtures.Path(name));
        Assert.That((matrix.Rows, matrix.Columns), Is.EqualTo((6, 4)));
        Assert.That(matrix.Data, Is.EqualTo(Fixtures.X()));
    }

    [Test]
    public void ReadHeader_stops_at_the_first_data_byte()
    {
        using var stream = File.OpenRead(Fixtures.Path("x_f32.npy"));
        Assert.That(NpyReader.ReadHeader(stream), Is.EqualTo(new NpyHeader(DType.Float32, 6, 4)));
        Assert.That(stream.Position, Is.EqualTo(128));
        Assert.That(stream.Length - stream.Position, Is.EqualTo(6 * 4 * 4));
    }

    [Test]
    public void Test_writer_produces_the_same_bytes_as_numpy()
    {
        Assert.That(NpyWriter.Encode(Fixtures.X(), 6, 4), Is.EqualTo(File.ReadAllBytes(Fixtures.Path("x_f32.npy"))));
        Assert.That(NpyWriter.Encode([.. Fixtures.X().Select(v => (Half)v)], 6, 4), Is.EqualTo(File.ReadAllBytes(Fixtures.Path("x_f16.npy"))));
        Assert.That(NpyWriter.Encode(Fixtures.G(), 6, 3), Is.EqualTo(File.ReadAllBytes(Fixtures.Path("g_f32.npy"))));
    }

    [TestCase("bad_magic.npy", "not a .npy file")]
    [TestCase("bad_fortran.npy", "Fortran-order arrays are not supported")]
    [TestCase("bad_3d.npy", "expected a 2-D matrix, got shape (2, 3, 4)")]
    [TestCase("bad_f64.npy", "dtype '<f8' is not supported")]
    [TestCase("bad_truncated.npy", "truncated data: the header describes 6 x 4 f32 (96 bytes) but only 86 bytes follow it")]
    public void Rejects_malformed_numpy_files(string name, string reason)
    {
        var error = Assert.Throws<NpyFormatException>(() => NpyReader.Read(Fixtures.Path(name)));
        Assert.That(error!.Message, Does.Contain(reason));
    }

    [Test]
    public void Accepts_double_quotes_and_python2_long_suffixes()
    {
        byte[] data = new byte[2 * 3 * 2];
        BitConverter.TryWriteBytes(data.AsSpan(10), (Half)(-1.5));
        byte[] file = NpyWriter.Encode("{\"descr\": \"<f2\", \"fortran_order\": False, \"shape\": (2L, 3L)}", data);
        var matrix = (HostMatrix<Half>)ReadAll(file);
        Assert.That((matrix.Rows, matrix.Columns), Is.EqualTo((2, 3)));
        Assert.That(matrix.Data.Select(h => (float)h), Is.EqualTo(new[] { 0f, 0f, 0f, 0f, 0f, -1.5f }));
    }

    [TestCase("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "big-endian data is not supported")]
    [TestCase("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<i4' is not supported")]
    [TestCase("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", "expected a string, True, False or a tuple")]
    [TestCase("{'descr': '<f4', 'shape': (2, 3), }", "exactly the keys descr, fortran_order and shape; it has descr, shape")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }", "expected a string, True, False or a tuple")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': True, }", "exactly the keys")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (2, 3)}", "key 'shape' appears twice")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", "expected a 2-D matrix, got shape (6,)")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "expected a 2-D matrix, got shape ()")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", "the matrix is empty (shape (0, 3))")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", "expected a non-negative integer")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }", "too large to hold in one array")]
    [TestCase("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", "expected a string, True, False or a tuple")]
    [TestCase("{'descr': '<f4', 'fortran_order': 'no', 'shape': (2, 3), }", "fortran_order is not True or False")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected '}'")]
    [TestCase("{'descr: '<f4'}", "expected ':'")]
    [TestCase("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} trailing", "unexpected text after the dictionary")]
    public void Rejects_bad_headers_saying_why(string dictionary, string reason)
    {
        byte[] file = NpyWriter.Encode(dictionary, new byte[2 * 3 * 4]);
        var error = Assert.Throws<NpyFormatException>(() => ReadAll(file));
        Assert.That(error!.Message, Does.Contain(reason));
    }

    [TestCase(4, 0, "unsupported .npy format version 4.0")]
    [TestCase(1, 1, "unsupported .npy format version 1.1")]
    [TestCase(0, 0, "unsupported .npy format version 0.0")]
    public void Rejects_unknown_versions(byte major, byte minor, string reason)
    {
        byte[] file = File.ReadAllBytes(Fixtures.Path("x_f32.npy"));
        file[6] = major;
        file[7] = minor;
        Assert.That(() => ReadAll(file), Throws.TypeOf<NpyFormatException>().With.Message.Contains(reason));
    }

    [Test]
    public void Rejects_a_header_longer_than_numpy_allows()
    {
        byte[] file = NpyWriter.Encode(NpyWriter.Dictionary("<f4", false, "(1, 1)") + new string(' ', NpyReader.MaxHeaderLength), new byte[4], majorVersion: 2);
        Assert.That(() => ReadAll(file), Throws.TypeOf<NpyFormatException>().With.Message.Contains("longer than the 10000 bytes allowed"));
    }

    [Test]
    public void Rejects_a_header_cut_short()
    {
        byte[] whole = File.ReadAllBytes(Fixtures.Path("x_f32.npy"));
        foreach (int length in new[] { 0, 5, 9, 60, 127 })
            Assert.That(() => ReadAll(whole[..length]), Throws.TypeOf<NpyFormatException>(), $"first {length} bytes");
    }

    [Test]
    public void Rejects_bytes_after_the_data()
    {
        byte[] file = [.. File.ReadAllBytes(Fixtures.Path("x_f32.npy")), 0];
        Assert.That(() => ReadAll(file), Throws.TypeOf<NpyFormatException>().With.Message.Contains("unexpected bytes after the 96 data bytes"));
    }

    [Test]
    public void Decodes_version_3_headers_as_utf8_and_older_ones_as_latin1()
    {
        string dictionary = NpyWriter.Dictionary("é", false, "(1, 1)");
        Assert.That(() => ReadAll(NpyWriter.Encode(dictionary, new byte[4], majorVersion: 3)),
            Throws.TypeOf<NpyFormatException>().With.Message.Contains("dtype 'é' is not supported"));
        Assert.That(() => ReadAll(NpyWriter.Encode(dictionary, new byte[4], majorVersion: 2)),
            Throws.TypeOf<NpyFormatException>().With.Message.Contains("dtype 'é' is not supported"));
        byte[] utf8InVersion2 = NpyWriter.Encode(dictionary, new byte[4], majorVersion: 3);
        utf8InVersion2[6] = 2;
        Assert.That(() => ReadAll(utf8InVersion2), Throws.TypeOf<NpyFormatException>().With.Message.Contains("dtype 'Ã©' is not supported"));
    }

    private static HostMatrix ReadAll(byte[] file)
    {
        using var stream = new MemoryStream(file);
        return NpyReader.ReadData(stream, NpyReader.ReadHeader(stream));
    }
}
