namespace PammCuda.Tests.Core;

public class DTypesTests
{
    [Test]
    public void Each_supported_element_type_maps_to_its_dtype()
    {
        Assert.Multiple(() =>
        {
            Assert.That(DTypes.Of<float>(), Is.EqualTo(DType.Float32));
            Assert.That(DTypes.Of<Half>(), Is.EqualTo(DType.Float16));
            Assert.That(DTypes.Of<BFloat16>(), Is.EqualTo(DType.BFloat16));
            Assert.That(DTypes.TryOf<BFloat16>(out var dtype) && dtype == DType.BFloat16);
        });
    }

    [Test]
    public void Other_element_types_are_refused_by_Of_and_reported_by_TryOf()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => DTypes.Of<double>(), Throws.TypeOf<NotSupportedException>().With.Message.Contains("Double"));
            Assert.That(DTypes.TryOf<int>(out _), Is.False);
            Assert.That(DTypes.TryOf<ushort>(out _), Is.False, "the storage type of 16-bit floats is not a float type");
        });
    }
}
