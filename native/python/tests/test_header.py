"""
The ctypes bindings agree with pamm.h, argument by argument. ctypes trusts its argtypes: a c_int32 where the header
says size_t, or a struct field out of order, passes garbage without an error, and most GPU calls run only on a GPU
host. Runs without the library: it reads the header and the package's source.
"""

import ctypes
import pathlib
import re
import unittest

from pammcuda import _native, backend

HEADER = pathlib.Path(__file__).resolve().parents[2] / "include" / "pamm.h"
PACKAGE = pathlib.Path(_native.__file__).parent


def parse_header(text):
    """(functions, structs, enums, defines) of a plain-C header: {name: (return type, [(type, name)])}, {name:
    [(type, name)]}, {name: {enumerator: value}} and {name: text}. A type is (base name without const, pointer count).
    Raises ValueError on a statement it cannot read, so nothing is skipped silently."""
    defines = dict(re.findall(r"^\s*#define\s+(\w+)[ \t]+([^\n]*?)\s*$", text, re.M))
    code = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    code = "\n".join(line for line in code.split("\n") if not line.lstrip().startswith("#"))
    code = code.replace('extern "C" {', " ")
    structs, enums = {}, {}

    def typedef(match):
        kind, name, body = match.groups()
        if kind == "struct":
            structs[name] = [declaration(field) for field in body.split(";") if field.strip()]
        else:
            enums[name] = {}
            for enumerator in (part.strip() for part in body.split(",") if part.strip()):
                if "=" not in enumerator:
                    raise ValueError(f"pamm.h: enumerator '{enumerator}' has no explicit value")
                key, value = (part.strip() for part in enumerator.split("="))
                enums[name][key] = int(value)
        return ";"

    code = re.sub(r"typedef\s+(struct|enum)\s+(\w+)\s*\{([^}]*)\}\s*\w+\s*;", typedef, code)
    functions = {}
    for statement in (" ".join(part.split()) for part in code.split(";")):
        if not statement or statement == "}" or (statement.startswith("typedef struct ") and "(" not in statement):
            continue
        match = re.fullmatch(r"([\w\s*]+)\(([^()]*)\)", statement)
        if not match:
            raise ValueError(f"pamm.h: cannot read '{statement}'")
        returns, name = declaration(match.group(1))
        parameters = match.group(2).strip()
        functions[name] = (returns, [] if parameters == "void" else [declaration(p) for p in parameters.split(",")])
    return functions, structs, enums, defines


def declaration(text):
    """'const void *const *projections' -> (('void', 2), 'projections')."""
    tokens = [token for token in re.findall(r"\w+|\*", text) if token != "const"]
    words = [token for token in tokens if token != "*"]
    if len(words) < 2:
        raise ValueError(f"pamm.h: '{text}' is not a type and a name")
    return (" ".join(words[:-1]), tokens.count("*")), words[-1]


# The ctypes type a C type is bound as: the same size and register class under the C calling convention.
_SCALARS = {"int32_t": ctypes.c_int32, "pamm_dtype": ctypes.c_int32, "pamm_layout": ctypes.c_int32, "pamm_status": ctypes.c_int,
            "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64, "size_t": ctypes.c_size_t, "float": ctypes.c_float,
            "double": ctypes.c_double, "pamm_engine": ctypes.c_void_p, "pamm_compressed": ctypes.c_void_p}
_STRUCTS = {"pamm_options": _native.Options, "pamm_compressed_info": _native.CompressedInfo}


def ctypes_of(c_type):
    name, pointers = c_type
    if pointers == 0 and name in _SCALARS:
        return _SCALARS[name]
    if pointers == 1 and name == "void":
        return ctypes.c_void_p
    if pointers == 1 and name == "char":
        return ctypes.c_char_p
    if pointers == 1 and name in _SCALARS:
        return ctypes.POINTER(_SCALARS[name])
    if pointers == 1 and name in _STRUCTS:
        return ctypes.POINTER(_STRUCTS[name])
    if pointers == 2 and name == "void":
        return ctypes.POINTER(ctypes.c_void_p)
    raise AssertionError(f"pamm.h uses {name}{'*' * pointers}, which this test does not map to ctypes yet: add it")


@unittest.skipUnless(HEADER.exists(), f"pamm.h is not at {HEADER} (an installed package without the repository)")
class HeaderAgreementTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.functions, cls.structs, cls.enums, cls.defines = parse_header(HEADER.read_text(encoding="utf-8"))

    def test_every_binding_takes_and_returns_what_its_prototype_says(self):
        for name, (restype, argtypes) in _native._SIGNATURES.items():
            with self.subTest(function=name):
                self.assertIn(name, self.functions, "bound, but pamm.h does not declare it")
                returns, parameters = self.functions[name]
                self.assertIs(restype, ctypes_of(returns), "return type")
                self.assertEqual(len(argtypes), len(parameters), f"parameters: pamm.h has {[p for _, p in parameters]}")
                for index, (argtype, (c_type, parameter)) in enumerate(zip(argtypes, parameters)):
                    self.assertIs(argtype, ctypes_of(c_type), f"parameter {index} ({parameter}) is {c_type[0]}{'*' * c_type[1]}")

    def test_every_library_function_the_package_calls_is_bound(self):
        # An unbound function gets ctypes' defaults: every integer an int, every result an int (a pointer cut in half).
        called = set()
        for source in PACKAGE.glob("*.py"):
            called.update(re.findall(r"\b(pamm_\w+)\b", source.read_text(encoding="utf-8")))
        called &= set(self.functions)  # names of the library's functions, not Python ones that share the prefix
        self.assertGreater(len(called), 20, "the package's calls were not found")
        self.assertEqual(called - set(_native._SIGNATURES), set())

    def test_the_structs_have_the_headers_fields_in_order_at_the_headers_offsets(self):
        for c_name, mirror in _STRUCTS.items():
            with self.subTest(struct=c_name):
                declared = self.structs[c_name]
                self.assertEqual([name for name, _ in mirror._fields_], [name for _, name in declared])
                self.assertEqual([field_type for _, field_type in mirror._fields_], [ctypes_of(c_type) for c_type, _ in declared])
                offset, alignment = 0, 1
                for c_type, name in declared:  # every field here is aligned to its own size
                    size = ctypes.sizeof(ctypes_of(c_type))
                    offset = -(-offset // size) * size
                    self.assertEqual(getattr(mirror, name).offset, offset, name)
                    offset, alignment = offset + size, max(alignment, size)
                self.assertEqual(ctypes.sizeof(mirror), -(-offset // alignment) * alignment)

    def test_status_layout_and_dtype_codes_and_the_abi_version_are_the_headers(self):
        statuses = {name.replace("PAMM_ERROR_", "").replace("PAMM_", ""): value for name, value in self.enums["pamm_status"].items()}
        self.assertEqual(statuses, {name: getattr(_native, name) for name in statuses})
        self.assertEqual({name.replace("PAMM_", ""): value for name, value in self.enums["pamm_layout"].items()},
                         {"INPUT_BY_GRADIENT": _native.INPUT_BY_GRADIENT, "GRADIENT_BY_INPUT": _native.GRADIENT_BY_INPUT})
        self.assertEqual(self.enums["pamm_dtype"],
                         {"PAMM_" + str(dtype).removeprefix("torch.").upper(): code for dtype, code in backend._DTYPES.items()})
        self.assertEqual(int(self.defines["PAMM_ABI_VERSION"]), _native.ABI_VERSION)
        self.assertEqual(int(self.defines["PAMM_MAX_BATCHED_PRODUCTS"]), _native.MAX_BATCHED_PRODUCTS)

    def test_the_reader_spells_a_declaration_out_and_refuses_what_it_cannot_read(self):
        functions, structs, enums, _ = parse_header(
            "/* a comment; with a semicolon */\n"
            "typedef enum e { E_A = 0, E_B = 7 } e;\n"
            "typedef struct s { double d; int32_t i; } s;\n"
            "typedef struct h_t *h;\n"
            "pamm_status f(h handle, const void *const *pointers, size_t bytes);\n"
            "const char *g(void);\n")
        self.assertEqual(enums, {"e": {"E_A": 0, "E_B": 7}})
        self.assertEqual(structs, {"s": [(("double", 0), "d"), (("int32_t", 0), "i")]})
        self.assertEqual(functions["f"], (("pamm_status", 0), [(("h", 0), "handle"), (("void", 2), "pointers"), (("size_t", 0), "bytes")]))
        self.assertEqual(functions["g"], (("char", 1), []))
        with self.assertRaisesRegex(ValueError, "callback"):
            parse_header("int (*callback)(int);")
        with self.assertRaisesRegex(ValueError, "E_A"):
            parse_header("typedef enum e { E_A } e;")


if __name__ == "__main__":
    unittest.main()
