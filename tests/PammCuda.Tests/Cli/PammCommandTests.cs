using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using PammCuda.Cpu;

namespace PammCuda.Tests.Cli;

public class PammCommandTests
{
    private static readonly string[] SmallDemo = ["demo", "--rows", "512", "--cols", "32", "--grad-cols", "16", "--directions", "2", "--k", "8"];

    [Test]
    public void Demo_reports_backend_shapes_k_memory_error_and_times()
    {
        var run = PammCommand.Run([.. SmallDemo, "--noise", "0", "--device", "cpu"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Error, Is.Empty);
        Assert.That(run.Line("backend"), Does.StartWith("CPU (PammCuda.Cpu.CpuPamm) on "));
        Assert.That(run.Line("backend"), Does.EndWith($" threads, {CpuPamm.VectorBits}-bit vectors"));
        Assert.That(run.Line("X"), Is.EqualTo("512 x 32 f32"));
        Assert.That(run.Line("G"), Is.EqualTo("512 x 16 f32"));
        Assert.That(run.Line("product"), Is.EqualTo("in-by-grad: X^T G, 32 x 16 f32"));
        Assert.That(run.Line("k"), Does.StartWith("8 generators (0.01562 of the rows), epsilon inf, seed 0, alpha f32, dropped rows 0, beta 1"));
        // Dense 512·32·4; stored 8·32·4 (C) + 512·1 (f, 8 bits) + 512·4 (α) + 4 (η).
        Assert.That(run.Line("memory"), Is.EqualTo("dense X 65,536 B (64.0 KiB); stored 3,588 B (3.5 KiB) for C, f, alpha and eta: 18.3x less"));
        Assert.That(run.Line("time"), Does.Match(@"^compress \d+\.\d ms, approximate product \d+\.\d ms, exact product \d+\.\d ms$"));
    }

    [Test]
    public void Demo_rounds_X_and_G_to_the_dtype_asked_for()
    {
        var run = PammCommand.Run([.. SmallDemo, "--noise", "0", "--device", "cpu", "--dtype", "bf16"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("X"), Is.EqualTo("512 x 32 bf16"));
        Assert.That(run.Line("G"), Is.EqualTo("512 x 16 bf16"));
        Assert.That(run.Line("product"), Is.EqualTo("in-by-grad: X^T G, 32 x 16 f32"));
        // Dense 512·32·2; stored 8·32·2 (C, bf16) + 512·1 (f) + 512·4 (α) + 4 (η).
        Assert.That(run.Line("memory"), Is.EqualTo("dense X 32,768 B (32.0 KiB); stored 3,076 B (3.0 KiB) for C, f, alpha and eta: 10.7x less"));
        // Rounding X to 8 significant bits moves each token off its direction by up to 2⁻⁹ relatively: no longer exact,
        // but far closer than any noise the demo adds.
        Assert.That(run.RelativeError(), Is.GreaterThan(1e-5).And.LessThan(1e-2));
        var half = PammCommand.Run([.. SmallDemo, "--noise", "0", "--device", "cpu", "--dtype", "f16"]);
        Assert.That(half.Line("X"), Is.EqualTo("512 x 32 f16"));
        Assert.That(half.RelativeError(), Is.LessThan(run.RelativeError()), "f16 keeps 3 more bits than bf16");
    }

    [Test]
    public void Demo_without_noise_is_exact_up_to_float32_rounding()
    {
        // Every token is a multiple of one of two directions and 8 generators cover both: X̃ = X.
        Assert.That(PammCommand.Run([.. SmallDemo, "--noise", "0"]).RelativeError(), Is.LessThan(1e-5));
    }

    [Test]
    public void Demo_error_grows_with_the_noise()
    {
        double low = PammCommand.Run([.. SmallDemo, "--noise", "0.05"]).RelativeError();
        double high = PammCommand.Run([.. SmallDemo, "--noise", "0.2"]).RelativeError();
        Assert.That(low, Is.GreaterThan(1e-3));
        Assert.That(high, Is.GreaterThan(2 * low));
    }

    [Test]
    public void Demo_is_reproducible_and_depends_on_the_seed()
    {
        var first = PammCommand.Run([.. SmallDemo, "--seed", "7"]);
        var second = PammCommand.Run([.. SmallDemo, "--seed", "7"]);
        var other = PammCommand.Run([.. SmallDemo, "--seed", "8"]);
        Assert.That(second.WithoutTimes(), Is.EqualTo(first.WithoutTimes()));
        Assert.That(other.RelativeError(), Is.Not.EqualTo(first.RelativeError()));
    }

    [Test]
    public void Demo_writes_the_transposed_layout_with_the_same_error()
    {
        var inByGrad = PammCommand.Run([.. SmallDemo, "--repeat", "2"]);
        var gradByIn = PammCommand.Run([.. SmallDemo, "--layout", "grad-by-in"]);
        Assert.That(gradByIn.ExitCode, Is.EqualTo(0), gradByIn.Error);
        Assert.That(gradByIn.Line("product"), Is.EqualTo("grad-by-in: G^T X, 16 x 32 f32"));
        Assert.That(gradByIn.RelativeError(), Is.EqualTo(inByGrad.RelativeError()).Within(1e-3).Percent);
    }

    [Test]
    public void Demo_epsilon_drops_rows_and_reports_beta()
    {
        var run = PammCommand.Run([.. SmallDemo, "--noise", "0.2", "--epsilon", "0.3"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        var match = Regex.Match(run.Line("k"), @"dropped rows (\d+), beta (\S+)$");
        Assert.That(match.Success, Is.True, run.Line("k"));
        int dropped = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        double beta = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.That(dropped, Is.InRange(1, 511));
        Assert.That(beta, Is.EqualTo(512.0 / (512 - dropped)).Within(5e-4).Percent, "printed to 6 significant digits");
    }

    [Test]
    public void Run_on_numpy_float32_files_is_exact_for_rank_one_x()
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path("x_f32.npy"), "--g", Fixtures.Path("g_f32.npy"), "--k", "1");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("X"), Is.EqualTo("6 x 4 f32"));
        Assert.That(run.Line("G"), Is.EqualTo("6 x 3 f32"));
        Assert.That(run.Line("product"), Is.EqualTo("in-by-grad: X^T G, 4 x 3 f32"));
        // Dense 6·4·4; stored 1·4·4 + 6·(1 + 4) + 4 (f in 8 bits).
        Assert.That(run.Line("memory"), Is.EqualTo("dense X 96 B; stored 50 B for C, f, alpha and eta: 1.9x less"));
        Assert.That(run.RelativeError(), Is.LessThan(1e-6));
    }

    [TestCase("x_f16.npy", "g_f16.npy", "6 x 3 f16")]
    [TestCase("x_f16.npy", "g_f32.npy", "6 x 3 f32")]
    [TestCase("x_f32.npy", "g_f16.npy", "6 x 3 f16")]
    public void Run_accepts_float16_files(string x, string g, string gDescription)
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path(x), "--g", Fixtures.Path(g), "--k", "2");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("G"), Is.EqualTo(gDescription));
        Assert.That(run.RelativeError(), Is.LessThan(1e-3));
    }

    [Test]
    public void Run_without_g_draws_a_gaussian_one_with_grad_cols_columns()
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path("x_f16.npy"), "--grad-cols", "5", "--k", "1");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("X"), Is.EqualTo("6 x 4 f16"));
        Assert.That(run.Line("G"), Is.EqualTo("6 x 5 f32"));
        // Dense 6·4·2; stored 1·4·2 (C) + 6·(1 + 4) (f, α) + 4 (η).
        Assert.That(run.Line("memory"), Is.EqualTo("dense X 48 B; stored 42 B for C, f, alpha and eta: 1.1x less"));
    }

    [Test]
    public void Run_reads_a_larger_written_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pamm-{Guid.NewGuid():N}.npy");
        try
        {
            var random = new Random(3);
            Half[] data = [.. Enumerable.Range(0, 300 * 20).Select(_ => (Half)(random.NextDouble() - 0.5))];
            File.WriteAllBytes(path, NpyWriter.Encode(data, 300, 20));
            var run = PammCommand.Run("run", "--x", path, "--ratio", "0.1", "--grad-cols", "7", "--layout", "grad-by-in");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
            Assert.That(run.Line("k"), Does.StartWith("30 generators"));
            Assert.That(run.Line("product"), Is.EqualTo("grad-by-in: G^T X, 7 x 20 f32"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("bad_magic.npy", "not a .npy file")]
    [TestCase("bad_fortran.npy", "Fortran-order arrays are not supported")]
    [TestCase("bad_3d.npy", "expected a 2-D matrix, got shape (2, 3, 4)")]
    [TestCase("bad_f64.npy", "dtype '<f8' is not supported")]
    [TestCase("bad_truncated.npy", "truncated data")]
    public void Run_fails_with_one_line_naming_the_file_and_the_problem(string name, string reason)
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path(name));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Output, Is.Empty);
        AssertOneLine(run.Error, $"pamm: X file {Fixtures.Path(name)}: ");
        Assert.That(run.Error, Does.Contain(reason));
    }

    [Test]
    public void Run_fails_on_a_malformed_g_too()
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path("x_f32.npy"), "--g", Fixtures.Path("bad_fortran.npy"));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        AssertOneLine(run.Error, $"pamm: G file {Fixtures.Path("bad_fortran.npy")}: Fortran-order");
    }

    [Test]
    public void Non_finite_input_is_reported_with_a_warning()
    {
        float[] data = [.. Enumerable.Range(0, 64 * 4).Select(i => (float)Math.Sin(i))];
        data[17] = float.NaN;
        string path = Path.Combine(Path.GetTempPath(), $"pamm-nan-{Guid.NewGuid():N}.npy");
        File.WriteAllBytes(path, NpyWriter.Encode(data, 64, 4));
        try
        {
            var run = PammCommand.Run("run", "--x", path, "--k", "4", "--device", "cpu");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
            Assert.That(run.Line("error"), Does.EndWith("= NaN"));
            Assert.That(run.Line("warning"), Does.StartWith("X or G holds NaN or infinite values"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_product_too_large_for_one_array_is_named_up_front()
    {
        var run = PammCommand.Run("demo", "--rows", "1", "--cols", "60000", "--grad-cols", "60000", "--directions", "1");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        AssertOneLine(run.Error, "pamm: --cols x --grad-cols: the product would be 60000 x 60000 = 3600000000 elements");
    }

    [Test]
    public void Run_names_a_product_too_large_for_one_array_before_any_work()
    {
        string x = Path.Combine(Path.GetTempPath(), $"pamm-wide-x-{Guid.NewGuid():N}.npy");
        string g = Path.Combine(Path.GetTempPath(), $"pamm-wide-g-{Guid.NewGuid():N}.npy");
        File.WriteAllBytes(x, NpyWriter.Encode(new float[60000], 1, 60000));
        File.WriteAllBytes(g, NpyWriter.Encode(new float[60000], 1, 60000));
        try
        {
            // --grad-cols is an option: a usage error, before G is generated.
            var generated = PammCommand.Run("run", "--x", x, "--k", "1", "--grad-cols", "60000");
            Assert.That(generated.ExitCode, Is.EqualTo(2), generated.Error);
            AssertOneLine(generated.Error, "pamm: --grad-cols 60000: the product would be 60000 x 60000 = 3600000000 elements");
            // Two files that cannot be multiplied here: a failure of the data, from G's header, before its data is read.
            var given = PammCommand.Run("run", "--x", x, "--g", g, "--k", "1");
            Assert.That(given.ExitCode, Is.EqualTo(1), given.Error);
            AssertOneLine(given.Error, $"pamm: X ({x}) and G ({g}): the product would be 60000 x 60000 = 3600000000 elements");
        }
        finally
        {
            File.Delete(x);
            File.Delete(g);
        }
    }

    [Test]
    public void Run_names_a_generated_gradient_too_large_for_one_array_before_making_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pamm-tall-{Guid.NewGuid():N}.npy");
        File.WriteAllBytes(path, NpyWriter.Encode(new float[40000], 40000, 1));
        try
        {
            var run = PammCommand.Run("run", "--x", path, "--k", "1", "--grad-cols", "60000");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
            AssertOneLine(run.Error, "pamm: --grad-cols 60000: a G of X's 40000 rows would be 2400000000 elements, more than one array holds");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void More_directions_than_rows_is_a_usage_error()
    {
        var run = PammCommand.Run("demo", "--rows", "64", "--cols", "8", "--directions", "2147483647");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        AssertOneLine(run.Error, "pamm: --directions 2147483647 is more than --rows 64");
    }

    [Test]
    public void An_empty_file_name_is_a_usage_error()
    {
        var run = PammCommand.Run("run", "--x", "");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        AssertOneLine(run.Error, "pamm: option --x needs a file name; it is empty");
        var runG = PammCommand.Run("run", "--x", Fixtures.Path("x_f32.npy"), "--g", " ");
        Assert.That(runG.ExitCode, Is.EqualTo(2));
        AssertOneLine(runG.Error, "pamm: option --g needs a file name; it is empty");
    }

    [Test]
    public void A_directory_is_named_as_one()
    {
        string directory = Path.GetDirectoryName(Fixtures.Path("x_f32.npy"))!;
        var run = PammCommand.Run("run", "--x", directory);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        AssertOneLine(run.Error, $"pamm: the X file {directory} is a directory; give a .npy file");
    }

    [Test]
    public void A_truncated_file_claiming_a_huge_shape_is_reported_truncated_before_any_allocation()
    {
        // 2·10⁹ float32 (8 GB) fit one array: a read that allocated first would fail for memory (or take 8 GB), not name the file.
        string path = Path.Combine(Path.GetTempPath(), $"pamm-huge-{Guid.NewGuid():N}.npy");
        File.WriteAllBytes(path, NpyWriter.Encode(NpyWriter.Dictionary("<f4", fortranOrder: false, "(200000000, 10)"), new byte[64]));
        try
        {
            var run = PammCommand.Run("run", "--x", path, "--k", "1");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.Error);
            AssertOneLine(run.Error, $"pamm: X file {path}: truncated data: the header describes 200000000 x 10 f32");
            Assert.That(run.Error, Does.Contain("but only 64 bytes follow it"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_stderr_that_cannot_be_written_loses_the_message_but_not_the_exit_code()
    {
        using var output = new StringWriter();
        using var unwritable = new UnwritableWriter();
        Assert.Multiple(() =>
        {
            Assert.That(PammCuda.Cli.Program.Run(["demo", "--no-such-option"], output, unwritable), Is.EqualTo(2));
            Assert.That(PammCuda.Cli.Program.Run(["run", "--x", Fixtures.Path("no_such_file.npy")], output, unwritable), Is.EqualTo(1));
        });
    }

    /// <summary>A stderr like <c>2&gt;/dev/full</c>: every write fails.</summary>
    private sealed class UnwritableWriter : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new IOException("No space left on device");
    }

    [Test]
    public void Run_fails_on_a_missing_file()
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path("no_such_file.npy"));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        AssertOneLine(run.Error, "pamm: cannot read the X file: ");
        Assert.That(run.Error, Does.Contain("no_such_file.npy"));
    }

    [Test]
    public void Run_fails_when_g_has_another_number_of_rows()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pamm-{Guid.NewGuid():N}.npy");
        try
        {
            File.WriteAllBytes(path, NpyWriter.Encode(new float[5 * 3], 5, 3));
            var mismatch = PammCommand.Run("run", "--x", Fixtures.Path("x_f32.npy"), "--g", path);
            Assert.That(mismatch.ExitCode, Is.EqualTo(1));
            AssertOneLine(mismatch.Error, $"pamm: G ({path}) has 5 rows but X has 6; both need one row per token");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(new[] { "demo", "--bogus", "1" }, "unknown option '--bogus' for 'pamm demo'")]
    [TestCase(new[] { "demo", "--ratio", "0" }, "--ratio must be in (0, 1], got '0'")]
    [TestCase(new[] { "demo", "--ratio", "1.5" }, "--ratio must be in (0, 1], got '1.5'")]
    [TestCase(new[] { "demo", "--ratio", "abc" }, "--ratio must be in (0, 1], got 'abc'")]
    [TestCase(new[] { "demo", "--rows", "100", "--k", "101" }, "--k must be in [1, 100] (the rows of X), got 101")]
    [TestCase(new[] { "demo", "--k", "0" }, "--k must be an integer in [1, 2147483647], got '0'")]
    [TestCase(new[] { "demo", "--epsilon", "-1" }, "--epsilon must be >= 0 (or inf), got '-1'")]
    [TestCase(new[] { "demo", "--epsilon", "NaN" }, "--epsilon must be >= 0 (or inf), got 'NaN'")]
    [TestCase(new[] { "demo", "--k", "4", "--ratio", "0.5" }, "give --k or --ratio, not both")]
    [TestCase(new[] { "demo", "--layout", "rows" }, "--layout must be one of in-by-grad, grad-by-in, got 'rows'")]
    [TestCase(new[] { "demo", "--device", "tpu" }, "--device must be one of auto, cpu, gpu, emulated, got 'tpu'")]
    [TestCase(new[] { "demo", "--dtype", "f64" }, "--dtype must be one of f32, f16, bf16, got 'f64'")]
    [TestCase(new[] { "demo", "--seed", "-3" }, "--seed must be an integer in [0, 18446744073709551615], got '-3'")]
    [TestCase(new[] { "demo", "--rows", "0" }, "--rows must be an integer in [1, 2147483647], got '0'")]
    [TestCase(new[] { "demo", "--noise", "inf" }, "--noise must be a finite number >= 0, got 'inf'")]
    [TestCase(new[] { "demo", "--repeat", "0" }, "--repeat must be an integer in [1, 2147483647], got '0'")]
    [TestCase(new[] { "demo", "--rows", "2000000", "--cols", "2000" }, "--rows x --cols = 4000000000 elements do not fit in one array")]
    [TestCase(new[] { "demo", "--k" }, "option --k needs a value (--k K)")]
    [TestCase(new[] { "demo", "--k", "--rows", "5" }, "option --k needs a value (--k K)")]
    [TestCase(new[] { "demo", "--k", "2", "--k", "3" }, "option --k is given more than once")]
    [TestCase(new[] { "demo", "extra" }, "unexpected argument 'extra' for 'pamm demo'")]
    [TestCase(new[] { "run" }, "option --x is required")]
    [TestCase(new[] { "run", "--x", "a.npy", "--g", "b.npy", "--grad-cols", "3" }, "--grad-cols sets the columns of a generated G; it cannot be used with --g")]
    [TestCase(new[] { "run", "--rows", "3" }, "unknown option '--rows' for 'pamm run'")]
    [TestCase(new[] { "train" }, "unknown command 'train' (commands: demo, run; try 'pamm --help')")]
    [TestCase(new string[0], "no command given (try 'pamm --help')")]
    [TestCase(new[] { "--k", "4" }, "no command given (try 'pamm --help')")]
    [TestCase(new[] { "--bogus" }, "unknown option '--bogus' for 'pamm' (try 'pamm --help')")]
    [TestCase(new[] { "demo", "--bogus=1" }, "unknown option '--bogus' for 'pamm demo' (try 'pamm demo --help')")]
    [TestCase(new[] { "demo", "-x" }, "unknown option '-x' for 'pamm demo'")]
    [TestCase(new[] { "demo", "--k", "2", "-3" }, "unexpected argument '-3' for 'pamm demo'")]
    [TestCase(new[] { "demo", "--version" }, "unknown option '--version' for 'pamm demo'")]
    [TestCase(new[] { "demo", "--rows=" }, "option --rows needs a value (--rows B)")]
    [TestCase(new[] { "demo", "--k", "2", "--k" }, "option --k is given more than once")]
    [TestCase(new[] { "demo", "--seed", "1", "--seed", "1" }, "option --seed is given more than once")]
    [TestCase(new[] { "run", "--x", "--g", "b.npy" }, "option --x needs a value (--x FILE)")]
    [TestCase(new[] { "run", "--x", "a.npy", "--g" }, "option --g needs a value (--g FILE)")]
    [TestCase(new[] { "--version", "demo" }, "--version option cannot be combined with other arguments")]
    public void Bad_command_lines_exit_2_with_one_line_naming_the_problem(string[] args, string message)
    {
        var run = PammCommand.Run(args);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Output, Is.Empty);
        AssertOneLine(run.Error, "pamm: ");
        Assert.That(run.Error, Does.Contain(message));
    }

    [Test]
    public void K_larger_than_the_rows_of_a_file_is_a_usage_error()
    {
        var run = PammCommand.Run("run", "--x", Fixtures.Path("x_f32.npy"), "--k", "7");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        AssertOneLine(run.Error, "pamm: --k must be in [1, 6] (the rows of X), got 7");
    }

    [Test]
    public void Options_accept_the_equals_form_fractions_and_negative_looking_values()
    {
        var run = PammCommand.Run("demo", "--rows=1024", "--cols", "8", "--grad-cols=4", "--ratio", "1/512", "--epsilon=inf");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("k"), Does.StartWith("2 generators"));
        Assert.That(PammCommand.Run("demo", "--epsilon", "-0.5").Error, Does.Contain("--epsilon must be >= 0"));
    }

    [Test]
    public void Global_help_explains_the_commands_common_options_and_exit_codes()
    {
        foreach (string flag in new[] { "--help", "-h", "-?" })
        {
            var run = PammCommand.Run(flag);
            Assert.That(run.ExitCode, Is.EqualTo(0));
            Assert.That(run.Error, Is.Empty);
            Assert.That(run.Output, Does.Match(@"(?m)^  demo +Runs PAMM end to end").And.Match(@"(?m)^  run +Runs PAMM on your activation"));
            // scripts/package-test.sh looks for both commands in the installed tool's help.
            Assert.That(run.Output, Does.Contain("pamm demo --help").And.Contain("pamm run --help"));
            foreach (string option in CommonOptions)
                Assert.That(run.Output, Does.Match($@"(?m)^  {option} "), option);
            Assert.That(run.Output, Does.Contain("[default: 1/512]").And.Contain("[default: auto]"));
            Assert.That(run.Output, Does.Contain("Exit codes: 0 done, 1 failed"));
            Assert.That(run.Output.Split('\n'), Has.All.Length.LessThanOrEqualTo(100));
        }
    }

    [TestCase(new[] { "demo", "--rows", "5", "--help" }, new[] { "--rows", "--cols", "--grad-cols", "--directions", "--noise" })]
    [TestCase(new[] { "run", "-h" }, new[] { "--x", "--g", "--grad-cols" })]
    public void Command_help_describes_every_option_with_its_default(string[] args, string[] ownOptions)
    {
        var run = PammCommand.Run(args);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        foreach (string option in ownOptions.Concat(CommonOptions).Append("--help"))
            Assert.That(run.Output, Does.Match($@"(?m)^  (-\S+, )*{option}[ ,]"), option);
        Assert.That(run.Output, Does.Contain("[default: 1/512]").And.Contain("[default: inf]").And.Contain("[default: in-by-grad]"));
        Assert.That(run.Output.Split('\n'), Has.All.Length.LessThanOrEqualTo(100));
    }

    [Test]
    public void Alpha_in_bfloat16_keeps_two_bytes_a_row_less()
    {
        var run = PammCommand.Run([.. SmallDemo, "--noise", "0", "--device", "cpu", "--alpha", "bf16"]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Line("k"), Does.Contain("alpha bf16"));
        // Dense 512·32·4; stored 8·32·4 (C) + 512·1 (f) + 512·2 (α in bf16) + 4 (η).
        Assert.That(run.Line("memory"), Is.EqualTo("dense X 65,536 B (64.0 KiB); stored 2,564 B (2.5 KiB) for C, f, alpha and eta: 25.6x less"));
        var bad = PammCommand.Run([.. SmallDemo, "--alpha", "f16"]);
        Assert.That(bad.ExitCode, Is.EqualTo(2));
        Assert.That(bad.Error.Trim(), Is.EqualTo("pamm: --alpha must be one of f32, bf16, got 'f16'"));
    }

    [Test]
    public void Refined_generators_keep_the_bytes_and_lower_the_error()
    {
        var plain = PammCommand.Run([.. SmallDemo, "--noise", "0.3", "--device", "cpu"]);
        var refined = PammCommand.Run([.. SmallDemo, "--noise", "0.3", "--device", "cpu", "--refine"]);
        Assert.That(plain.ExitCode, Is.EqualTo(0), plain.Error);
        Assert.That(refined.ExitCode, Is.EqualTo(0), refined.Error);
        Assert.That(refined.Line("k"), Does.Contain("alpha f32, refined generators, dropped rows 0"));
        Assert.That(plain.Line("k"), Does.Not.Contain("refined"));
        Assert.That(refined.Line("memory"), Is.EqualTo(plain.Line("memory")));
        Assert.That(refined.RelativeError(), Is.LessThan(plain.RelativeError()));
    }

    [Test]
    public void Demo_help_gives_every_default_as_it_is_typed()
    {
        var run = PammCommand.Run("demo", "--help");
        (string Option, string Default)[] defaults =
        [
            ("--rows", "16384"), ("--cols", "768"), ("--grad-cols", "768"), ("--directions", "8"), ("--noise", "0.1"),
            ("--ratio", "1/512"), ("--epsilon", "inf"), ("--seed", "0"), ("--alpha", "f32"), ("--layout", "in-by-grad"), ("--device", "auto"),
            ("--repeat", "1"),
        ];
        // One entry per option: from its name to the next option's.
        string[] entries = Regex.Split(run.Output, @"(?m)^(?=  -)");
        foreach ((string option, string value) in defaults)
        {
            string? entry = entries.FirstOrDefault(e => e.StartsWith($"  {option} ", StringComparison.Ordinal));
            Assert.That(entry, Is.Not.Null, option);
            Assert.That(Regex.Replace(entry!, @"\s+", " "), Does.EndWith($"[default: {value}] "), option);
        }
        Assert.That(run.Output, Does.Contain("The generated X imitates the hidden states"), "the explanation of the data follows the options");
    }

    [Test, SetCulture("de-DE")]
    public void Help_gives_defaults_as_typed_in_any_culture()
    {
        // A double's own text would be 0,1 here; the defaults are written as a user types them.
        var run = PammCommand.Run("demo", "--help");
        Assert.That(run.Output, Does.Contain("[default: 0.1]").And.Contain("[default: 1/512]").And.Contain("[default: inf]"));
    }

    [Test]
    public void Run_help_marks_x_required_and_explains_the_files()
    {
        var run = PammCommand.Run("run", "--help");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Output, Does.Match(@"(?m)^  --x <FILE> \(REQUIRED\) "));
        Assert.That(run.Output, Does.Contain("X and G are .npy files (numpy.save)"));
    }

    [Test]
    public void Version_prints_the_version_of_pamm()
    {
        string expected = typeof(PammCuda.Cli.Program).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var run = PammCommand.Run("--version");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        Assert.That(run.Output, Is.EqualTo(expected + Environment.NewLine));
        Assert.That(expected, Does.StartWith("0."));
    }

    [Test]
    public void Common_options_may_also_come_before_the_command()
    {
        var before = PammCommand.Run(["--seed", "7", "--k", "8", .. SmallDemo[..^2]]);
        var after = PammCommand.Run([.. SmallDemo, "--seed", "7"]);
        Assert.That(before.ExitCode, Is.EqualTo(0), before.Error);
        Assert.That(before.WithoutTimes(), Is.EqualTo(after.WithoutTimes()));
    }

    [Test]
    public void A_file_name_starting_with_at_is_a_file_name_not_a_response_file()
    {
        var run = PammCommand.Run("run", "--x", "@no_such_file.npy");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        AssertOneLine(run.Error, "pamm: cannot read the X file: ");
        Assert.That(run.Error, Does.Contain("@no_such_file.npy"));
    }

    private static readonly string[] CommonOptions = ["--ratio", "--k", "--epsilon", "--seed", "--refine", "--layout", "--device", "--repeat"];

    private static void AssertOneLine(string text, string start)
    {
        Assert.That(text, Does.StartWith(start));
        Assert.That(text.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), text);
        Assert.That(text, Does.Not.Contain(" at "), "no stack trace");
    }
}
