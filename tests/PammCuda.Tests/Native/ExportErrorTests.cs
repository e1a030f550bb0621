using PammCuda.Emulation;
using PammCuda.Interop;
using PammCuda.Native;
using PammCuda.Tests.Support;

namespace PammCuda.Tests.Native;

/// <summary>
/// pamm.h promises PAMM_ERROR_OUT_OF_MEMORY when host or device memory runs out: the C ABI's mapping of exceptions to
/// statuses gives it for every library's out-of-memory failure, and only for those.
/// </summary>
public class ExportErrorTests
{
    [Test]
    public void A_device_allocation_that_cannot_be_met_is_out_of_memory()
    {
        Requirements.Require(Need.Compiler);
        using var device = new EmulatedComputeDevice();
        // 1 PiB: more than any machine this runs on has, so the emulated device's allocation fails as a GPU's would.
        var failure = Assert.Catch(() => device.Allocate<byte>(1L << 50))!;
        Assert.That(ExportErrors.Fail("pamm_test", failure), Is.EqualTo(PammStatus.OutOfMemory), failure.ToString());
    }

    [Test]
    public void Library_out_of_memory_statuses_are_out_of_memory_and_other_failures_are_runtime_errors()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Status(StatusChecks.DriverException((CuResult)2, "cuMemAlloc_v2(&address, bytes)")), Is.EqualTo(PammStatus.OutOfMemory));
            Assert.That(Status(StatusChecks.BlasException((CublasStatus)3, "cublasCreate_v2(&handle)")), Is.EqualTo(PammStatus.OutOfMemory));
            Assert.That(Status(StatusChecks.NvrtcException((NvrtcResult)1, "nvrtcCompileProgram(x.cu)")), Is.EqualTo(PammStatus.OutOfMemory));
            Assert.That(Status(StatusChecks.DriverException((CuResult)700, "cuStreamSynchronize(stream)")), Is.EqualTo(PammStatus.Runtime));
            Assert.That(Status(StatusChecks.BlasException((CublasStatus)7, "cublasGemmEx(...)")), Is.EqualTo(PammStatus.Runtime));
        });
    }

    [Test]
    public void The_message_names_the_function_the_library_and_the_status()
    {
        ExportErrors.Fail("pamm_compress", StatusChecks.DriverException((CuResult)2, "cuMemAlloc_v2(&address, bytes)"));
        string message = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(LastErrorText())!;
        Assert.That(message, Does.StartWith("pamm_compress: ").And.Contain("CUDA_ERROR_OUT_OF_MEMORY").And.Contain("cuMemAlloc_v2"));
    }

    [Test]
    public void A_range_check_message_is_one_line()
    {
        var status = ExportErrors.Fail("pamm_cpu_compress", new ArgumentOutOfRangeException("rows", 0, "rows must be at least 1."));
        string message = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(LastErrorText())!;
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(PammStatus.InvalidArgument));
            Assert.That(message, Does.Not.Contain('\n').And.Not.Contain('\r'));
            Assert.That(message, Does.StartWith("pamm_cpu_compress: rows must be at least 1.").And.EndWith("Actual value was 0."));
        });
    }

    private static unsafe nint LastErrorText() => (nint)LastError.Pointer;

    private static PammStatus Status(Exception exception) => ExportErrors.Fail("pamm_test", exception);
}
