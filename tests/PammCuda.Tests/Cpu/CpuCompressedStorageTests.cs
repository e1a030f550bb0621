using PammCuda.Cpu;

namespace PammCuda.Tests.Cpu;

/// <summary>The CPU backend writes and reads the storage layout that the GPU engine uses for caller storage.</summary>
public class CpuCompressedStorageTests
{
    private const int Rows = 120, Columns = 10, K = 9;

    [Test]
    public void Compress_into_storage_and_read_it_back_gives_the_same_activation()
    {
        var x = CpuTestData.Gaussian(Rows, Columns, 1);
        var options = new PammOptions { K = K, Seed = 3, Epsilon = 0.4 };
        var storage = new byte[CompressedStorageLayout.For(Rows, Columns, K, DType.Float32).TotalBytes];
        var written = CpuPamm.CompressInto<float>(x, Rows, Columns, options, storage);
        var read = CpuPamm.ReadCompressed<float>(storage, Rows, Columns, K);
        var direct = CpuPamm.Compress<float>(x, Rows, Columns, options);
        Assert.Multiple(() =>
        {
            Assert.That(read.Generators.ToArray(), Is.EqualTo(direct.Generators.ToArray()));
            Assert.That(read.Alpha.ToArray(), Is.EqualTo(direct.Alpha.ToArray()));
            Assert.That(Enumerable.Range(0, Rows).Select(read.AssignmentOf), Is.EqualTo(Enumerable.Range(0, Rows).Select(direct.AssignmentOf)));
            Assert.That(read.DroppedRows, Is.EqualTo(direct.DroppedRows).And.EqualTo(written.DroppedRows).And.Positive);
        });
    }

    [Test]
    public void Storage_too_small_is_rejected_naming_it()
    {
        var x = CpuTestData.Gaussian(Rows, Columns, 2);
        var options = new PammOptions { K = K };
        long needed = CompressedStorageLayout.For(Rows, Columns, K, DType.Float32).TotalBytes;
        Assert.Multiple(() =>
        {
            Assert.That(() => CpuPamm.CompressInto<float>(x, Rows, Columns, options, new byte[needed - 1]),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("storage").And.Message.Contains($"needs {needed}"));
            Assert.That(() => CpuPamm.ReadCompressed<float>(new byte[needed - 1], Rows, Columns, K),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("storage"));
        });
    }

    [Test]
    public void Storage_holding_an_assignment_out_of_range_is_rejected()
    {
        var layout = CompressedStorageLayout.For(Rows, Columns, K, DType.Float32);
        var storage = new byte[layout.TotalBytes];
        storage[layout.AssignmentOffset] = K;  // row 0 assigned to generator k, one past the last
        Assert.That(() => CpuPamm.ReadCompressed<float>(storage, Rows, Columns, K),
            Throws.ArgumentException.With.Message.Contains("row 0"));
    }

    [Test]
    public void Layout_parts_start_on_section_boundaries_and_fit_the_stored_bytes()
    {
        var layout = CompressedStorageLayout.For(100, 12, 7, DType.Float32);
        long stored = CompressedSize.StoredBytes(100, 12, 7, DType.Float32);
        Assert.Multiple(() =>
        {
            Assert.That((layout.GeneratorsOffset, layout.AlphaOffset, layout.AssignmentOffset, layout.DroppedOffset), Is.EqualTo((0L, 512L, 1024L, 1280L)));
            Assert.That(layout.TotalBytes, Is.EqualTo(1284));
            Assert.That(layout.TotalBytes, Is.InRange(stored, stored + 3 * (CompressedStorageLayout.SectionAlignment - 1)));
        });
    }
}
