using PammCuda.Cuda;
using PammCuda.Interop;

namespace PammCuda.Tests.Interop;

public class CudaLibrarySearchTests
{
    private static LibrarySearchEnvironment Linux(params (string Name, string Value)[] variables) =>
        new(false, "/usr/lib/x86_64-linux-gnu", name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Test]
    public void Linux_folders_come_in_order_extra_path_then_toolkit_then_system()
    {
        var folders = CudaLibrarySearch.Folders(Linux(
            (CudaLibrarySearch.LibraryPathVariable, "/opt/a:/opt/b::/opt/a"), ("CUDA_PATH", "/cuda"), ("CUDA_HOME", "/home/cuda")));
        Assert.That(folders, Is.EqualTo(new[]
        {
            "/opt/a", "/opt/b", "/cuda/lib64", "/home/cuda/lib64", "/usr/local/cuda/lib64", "/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu",
        }));
    }

    [Test]
    public void Driver_candidates_are_the_bare_soname_first_then_each_folder()
    {
        var candidates = CudaLibrarySearch.Candidates(CudaLibrary.Driver, Linux());
        Assert.That(candidates.Select(c => c.Path), Is.EqualTo(new[]
        {
            "libcuda.so.1", "/usr/local/cuda/lib64/libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1", "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
        }));
        Assert.That(candidates.All(c => c.Preload is null));
    }

    [Test]
    public void Nvrtc_candidates_go_newest_version_first()
    {
        var names = CudaLibrarySearch.Candidates(CudaLibrary.Nvrtc, Linux()).Select(c => Path.GetFileName(c.Path)).Distinct();
        Assert.That(names, Is.EqualTo(new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2" }));
    }

    [Test]
    public void Cublas_candidates_preload_cublasLt_of_the_same_version_and_folder()
    {
        var candidates = CudaLibrarySearch.Candidates(CudaLibrary.Blas, Linux(("CUDA_PATH", "/cuda")));
        Assert.That(candidates[0], Is.EqualTo(new LibraryCandidate("libcublas.so.13", "libcublasLt.so.13")));
        Assert.That(candidates[1], Is.EqualTo(new LibraryCandidate("/cuda/lib64/libcublas.so.13", "/cuda/lib64/libcublasLt.so.13")));
        Assert.That(candidates.Select(c => Path.GetFileName(c.Path)).Distinct(), Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.12", "libcublas.so.11" }));
        Assert.That(candidates.All(c => Path.GetFileName(c.Preload!) == Path.GetFileName(c.Path).Replace("libcublas", "libcublasLt", StringComparison.Ordinal)));
    }

    [Test]
    public void Windows_uses_dll_names_and_the_toolkit_bin_folders()
    {
        var environment = new LibrarySearchEnvironment(true, null, name => name == "CUDA_PATH" ? @"C:\CUDA" : null);
        Assert.That(CudaLibrarySearch.Folders(environment), Is.EqualTo(new[] { Path.Join(@"C:\CUDA", "bin", "x64"), Path.Join(@"C:\CUDA", "bin") }));
        Assert.That(CudaLibrarySearch.Candidates(CudaLibrary.Driver, environment)[0].Path, Is.EqualTo("nvcuda.dll"));
        Assert.That(CudaLibrarySearch.Candidates(CudaLibrary.Nvrtc, environment).Select(c => Path.GetFileName(c.Path)).Distinct(),
            Is.EqualTo(new[] { "nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll" }));
        Assert.That(CudaLibrarySearch.Candidates(CudaLibrary.Blas, environment)[0], Is.EqualTo(new LibraryCandidate("cublas64_13.dll", "cublasLt64_13.dll")));
    }

    [Test]
    public void Without_a_driver_a_driver_call_throws_CudaLibraryNotFoundException_listing_every_candidate()
    {
        if (CudaRuntime.CheckAvailability().DriverLibrary is { } loaded) Assert.Ignore($"A CUDA driver is installed here ({loaded}).");
        var exception = Assert.Throws<CudaLibraryNotFoundException>(() => CuDriver.cuInit(0));
        Assert.That(exception!.Library, Is.EqualTo("Driver"));
        var candidates = CudaLibrarySearch.Candidates(CudaLibrary.Driver, LibrarySearchEnvironment.Current);
        Assert.That(exception.Attempts, Has.Count.EqualTo(candidates.Count));
        foreach (var candidate in candidates) Assert.That(exception.Message, Does.Contain(candidate.Path));
    }
}
