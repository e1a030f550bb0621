using PammCuda.Cuda;
using PammCuda.Interop;

namespace PammCuda.Tests.Interop;

public class StatusChecksTests
{
    [Test]
    public void Success_does_not_throw()
    {
        Assert.DoesNotThrow(() => CuResult.Success.ThrowIfFailed());
        Assert.DoesNotThrow(() => NvrtcResult.Success.ThrowIfFailed());
        Assert.DoesNotThrow(() => CublasStatus.Success.ThrowIfFailed());
    }

    [TestCase(1, "CUDA_ERROR_INVALID_VALUE", "invalid argument")]
    [TestCase(2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory")]
    [TestCase(100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected")]
    [TestCase(700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered")]
    public void Driver_status_becomes_CudaException_with_name_text_and_call(int code, string name, string text)
    {
        var result = (CuResult)code;
        var exception = Assert.Throws<CudaException>(() => result.ThrowIfFailed())!;
        Assert.That(exception.Code, Is.EqualTo(code));
        Assert.That(exception.Name, Is.EqualTo(name));
        Assert.That(exception.Text, Is.EqualTo(text));
        Assert.That(exception.Call, Is.EqualTo("result"));
        Assert.That(exception.Message, Is.EqualTo($"result failed: {name} ({code}): {text}"));
    }

    [Test]
    public void The_failing_call_is_named_by_its_source_text()
    {
        var exception = Assert.Throws<CudaException>(() => Fail(2).ThrowIfFailed())!;
        Assert.That(exception.Call, Is.EqualTo("Fail(2)"));
    }

    [Test]
    public void An_unknown_driver_status_still_gets_a_name()
    {
        var exception = StatusChecks.DriverException((CuResult)123456, "call");
        Assert.That(exception.Code, Is.EqualTo(123456));
        Assert.That(exception.Name, Is.EqualTo("CUresult 123456"));
    }

    [Test]
    public void Nvrtc_status_becomes_NvrtcException_with_name_and_log()
    {
        var exception = StatusChecks.NvrtcException((NvrtcResult)6, "nvrtcCompileProgram(x.cu)", "x.cu(3): error: expected a \";\"");
        Assert.That(exception.Name, Is.EqualTo("NVRTC_ERROR_COMPILATION"));
        Assert.That(exception.Log, Is.EqualTo("x.cu(3): error: expected a \";\""));
        Assert.That(exception.Message, Does.Contain("NVRTC_ERROR_COMPILATION (6)").And.Contain("x.cu(3): error: expected a \";\""));
        Assert.That(Assert.Throws<NvrtcException>(() => ((NvrtcResult)5).ThrowIfFailed())!.Name, Is.EqualTo("NVRTC_ERROR_INVALID_OPTION"));
    }

    [TestCase(7, "CUBLAS_STATUS_INVALID_VALUE")]
    [TestCase(13, "CUBLAS_STATUS_EXECUTION_FAILED")]
    [TestCase(15, "CUBLAS_STATUS_NOT_SUPPORTED")]
    public void Cublas_status_becomes_CublasException_with_its_name(int code, string name)
    {
        var status = (CublasStatus)code;
        var exception = Assert.Throws<CublasException>(() => status.ThrowIfFailed())!;
        Assert.That(exception.Code, Is.EqualTo(code));
        Assert.That(exception.Name, Is.EqualTo(name));
        Assert.That(exception.Message, Does.StartWith($"status failed: {name} ({code})"));
    }

    private static CuResult Fail(int code) => (CuResult)code;
}
