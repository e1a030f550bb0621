using System.Reflection;
using System.Runtime.InteropServices;
using PammCuda.Native;

namespace PammCuda.Tests.Native;

/// <summary>
/// pamm.h and the exports behind it agree, argument by argument. A C compiler checks a caller against the header and
/// nothing checks the header against the library: an export that takes an <c>int</c> where the header says
/// <c>size_t</c>, or a struct field out of order, reads garbage on x86-64 without any error. Most GPU exports run only
/// on a GPU host, so this is where such a slip is caught before one.
/// </summary>
public unsafe class HeaderAgreementTests
{
    private static readonly PammHeader Header = PammHeader.Load();

    private static readonly Dictionary<string, MethodInfo> Exports = typeof(GeneralExports).Assembly.GetTypes()
        .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
        .Select(method => (method, attribute: method.GetCustomAttribute<UnmanagedCallersOnlyAttribute>()))
        .Where(export => export.attribute is not null)
        .ToDictionary(export => export.attribute!.EntryPoint ?? export.method.Name, export => export.method);

    [Test]
    public void The_header_declares_every_export_and_the_library_exports_every_declaration()
    {
        // Both ways: a prototype the reader missed would leave its export unmatched here.
        Assert.That(Exports.Keys, Is.EquivalentTo(Header.Functions.Keys));
    }

    [Test]
    public void Every_export_takes_and_returns_what_its_prototype_says()
    {
        var mismatches = new List<string>();
        foreach (CFunction function in Header.Functions.Values)
        {
            if (!Exports.TryGetValue(function.Name, out MethodInfo? export))
                continue;  // the test above names it
            ParameterInfo[] parameters = export.GetParameters();
            if (parameters.Length != function.Parameters.Count)
            {
                mismatches.Add($"{function.Name}: {function.Parameters.Count} parameters in pamm.h, {parameters.Length} exported");
                continue;
            }
            if (!ClrTypesOf(function.Returns).Contains(export.ReturnType))
                mismatches.Add($"{function.Name} returns {export.ReturnType.Name}, pamm.h says {function.Returns}");
            for (int i = 0; i < parameters.Length; i++)
            {
                CDeclaration declared = function.Parameters[i];
                if (!ClrTypesOf(declared.Type).Contains(parameters[i].ParameterType))
                    mismatches.Add($"{function.Name} parameter {i} ({declared.Name}): exported as {parameters[i].ParameterType.Name}, pamm.h says {declared.Type}");
            }
        }
        Assert.That(mismatches, Is.Empty);
    }

    [TestCase("pamm_options", typeof(NativeOptions))]
    [TestCase("pamm_compressed_info", typeof(NativeCompressedInfo))]
    public void A_struct_has_the_headers_fields_in_order_at_the_offsets_a_C_compiler_gives(string name, Type mirror)
    {
        IReadOnlyList<CDeclaration> declared = Header.Structs[name];
        FieldInfo[] fields = mirror.GetFields(BindingFlags.Instance | BindingFlags.Public)
            .OrderBy(field => (long)Marshal.OffsetOf(mirror, field.Name)).ToArray();
        Assert.That(fields.Select(field => field.Name.ToLowerInvariant()).ToList(),
            Is.EqualTo(declared.Select(field => field.Name.Replace("_", "", StringComparison.Ordinal)).ToList()), "field names, in order");
        Assert.That(fields.Select(field => field.FieldType).ToList(), Is.EqualTo(declared.Select(field => ClrTypesOf(field.Type).Single()).ToList()), "field types");

        // x86-64 and arm64 C: every field here is aligned to its own size, and the struct to its largest field.
        long offset = 0, alignment = 1;
        var offsets = new List<long>();
        foreach (CDeclaration field in declared)
        {
            long size = Marshal.SizeOf(ClrTypesOf(field.Type).Single());
            offset = (offset + size - 1) / size * size;
            offsets.Add(offset);
            offset += size;
            alignment = Math.Max(alignment, size);
        }
        Assert.That(fields.Select(field => (long)Marshal.OffsetOf(mirror, field.Name)).ToList(), Is.EqualTo(offsets), "offsets");
        Assert.That(Marshal.SizeOf(mirror), Is.EqualTo((offset + alignment - 1) / alignment * alignment), "size");
    }

    [Test]
    public void Every_status_has_the_headers_value_and_pamm_status_name_gives_its_enumerator()
    {
        IReadOnlyDictionary<string, long> statuses = Header.Enums["pamm_status"];
        Assert.That(Enum.GetValues<PammStatus>().Select(status => (long)status), Is.EquivalentTo(statuses.Values));
        delegate* unmanaged<PammStatus, byte*> statusName = &GeneralExports.pamm_status_name;
        foreach ((string enumerator, long value) in statuses)
            Assert.That(Marshal.PtrToStringUTF8((nint)statusName((PammStatus)value)), Is.EqualTo(enumerator));
    }

    [Test]
    public void Dtype_and_layout_codes_are_the_headers()
    {
        IReadOnlyDictionary<string, long> dtypes = Header.Enums["pamm_dtype"];
        Assert.That(Enum.GetValues<DType>().ToDictionary(dtype => "PAMM_" + dtype.ToString().ToUpperInvariant(), dtype => (long)NativeArguments.ToCode(dtype)),
            Is.EquivalentTo(dtypes));
        IReadOnlyDictionary<string, long> layouts = Header.Enums["pamm_layout"];
        Assert.That(layouts, Has.Count.EqualTo(Enum.GetValues<ProductLayout>().Length));
        Assert.That(NativeArguments.ToLayout((int)layouts["PAMM_INPUT_BY_GRADIENT"], "layout"), Is.EqualTo(ProductLayout.InputByGradient));
        Assert.That(NativeArguments.ToLayout((int)layouts["PAMM_GRADIENT_BY_INPUT"], "layout"), Is.EqualTo(ProductLayout.GradientByInput));
    }

    [Test]
    public void The_abi_version_is_the_headers()
    {
        delegate* unmanaged<int> abiVersion = &GeneralExports.pamm_abi_version;
        Assert.That(abiVersion(), Is.EqualTo(int.Parse(Header.Defines["PAMM_ABI_VERSION"], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void The_reader_spells_a_declaration_out_and_refuses_what_it_cannot_read()
    {
        PammHeader header = PammHeader.Parse("""
            /* a comment; with a semicolon */
            typedef enum e { E_A = 0, E_B = 7 } e;
            typedef struct s { double d; int32_t i; } s;
            typedef struct h_t *h;
            pamm_status f(h handle, const void *const *pointers, size_t bytes);
            const char *g(void);
            """);
        Assert.Multiple(() =>
        {
            Assert.That(header.Enums["e"], Is.EquivalentTo(new Dictionary<string, long> { ["E_A"] = 0, ["E_B"] = 7 }));
            Assert.That(header.Structs["s"], Is.EqualTo(new[] { new CDeclaration(new CType("double", 0), "d"), new CDeclaration(new CType("int32_t", 0), "i") }));
            Assert.That(header.Functions["f"].Parameters, Is.EqualTo(new[]
            {
                new CDeclaration(new CType("h", 0), "handle"), new CDeclaration(new CType("void", 2), "pointers"), new CDeclaration(new CType("size_t", 0), "bytes"),
            }));
            Assert.That(header.Functions["g"], Has.Property(nameof(CFunction.Returns)).EqualTo(new CType("char", 1)).And.Property(nameof(CFunction.Parameters)).Empty);
        });
        Assert.That(() => PammHeader.Parse("int (*callback)(int);"), Throws.TypeOf<FormatException>().With.Message.Contains("callback"));
        Assert.That(() => PammHeader.Parse("typedef enum e { E_A } e;"), Throws.TypeOf<FormatException>().With.Message.Contains("E_A"));
    }

    /// <summary>
    /// The CLR types an export may use for a C type: the same size and the same register class under the platform's C
    /// calling convention. An untyped C pointer may be any pointer-sized type; a typed one must point to its mirror.
    /// </summary>
    private static Type[] ClrTypesOf(CType type) => (type.Name, type.Pointers) switch
    {
        ("int32_t" or "pamm_dtype" or "pamm_layout", 0) => [typeof(int)],
        ("pamm_status", 0) => [typeof(PammStatus)],
        ("int64_t", 0) => [typeof(long)],
        ("uint64_t", 0) => [typeof(ulong)],
        ("size_t", 0) => [typeof(nuint)],
        ("float", 0) => [typeof(float)],
        ("double", 0) => [typeof(double)],
        ("pamm_engine" or "pamm_compressed", 0) => [typeof(nint)],
        ("void" or "char", 1) => [typeof(nint), typeof(void*), typeof(byte*)],
        ("int32_t", 1) => [typeof(int*)],
        ("int64_t", 1) => [typeof(long*)],
        ("size_t", 1) => [typeof(nuint*)],
        ("pamm_options", 1) => [typeof(NativeOptions*)],
        ("pamm_compressed_info", 1) => [typeof(NativeCompressedInfo*)],
        ("pamm_engine" or "pamm_compressed", 1) or ("void", 2) => [typeof(nint*)],
        _ => throw new AssertionException($"pamm.h uses {type}, which this test does not map to a CLR type yet: add it"),
    };
}
