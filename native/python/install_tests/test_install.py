"""
pip installs the package from the repository, offline, and the installed package finds libpammcuda.so through
PAMMCUDA_LIB or beside itself, or says what is missing. Run by scripts/native-tests.sh with PAMMCUDA_LIB set to the
built library (Debian: python3-pip, python3-setuptools and python3-wheel; see .ci/install-test-packages).
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

SOURCE = pathlib.Path(__file__).resolve().parent.parent  # native/python
TIMEOUT_S = 300

# Run in a fresh interpreter that sees only the installed copy: loads the library, trains one step, reports.
PROBE = """
import json, torch, pammcuda
layer = pammcuda.PammLinear(8, 4, ratio=0.5)
layer(torch.randn(16, 8)).sum().backward()
print(json.dumps({"file": pammcuda.__file__, "library": pammcuda.library_path(), "version": pammcuda.version(),
                  "grad_shape": list(layer.weight.grad.shape)}))
"""


def pip(*arguments):
    """python -m pip, offline (--no-index): the build uses the setuptools installed here (--no-build-isolation)."""
    return subprocess.run([sys.executable, "-m", "pip", *arguments, "--no-index", "--no-build-isolation", "--no-deps",
                           "--disable-pip-version-check", "--no-cache-dir"],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def copy_source(destination):
    """The package's sources without build outputs or a library copied in: pip builds in the tree it is given."""
    shutil.copytree(SOURCE, destination, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "*.egg-info", "*.so", "tests", "install_tests"))
    return destination


def built_library():
    library = os.environ.get("PAMMCUDA_LIB")
    if not library or not os.path.isfile(library):
        raise AssertionError(f"set PAMMCUDA_LIB to the built libpammcuda.so (got {library!r}); scripts/native-tests.sh does")
    return library


class PipInstallTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory()
        root = pathlib.Path(cls.directory.name)
        cls.site = root / "site"
        result = pip("install", "--target", str(cls.site), str(copy_source(root / "source")))
        if result.returncode != 0:
            raise AssertionError(f"pip install failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def probe(self, library=None):
        """Runs PROBE against the installed package, from another directory, with PAMMCUDA_LIB set or unset."""
        environment = {key: value for key, value in os.environ.items() if key not in ("PAMMCUDA_LIB", "PYTHONPATH")}
        environment["PYTHONPATH"] = str(self.site)
        if library is not None:
            environment["PAMMCUDA_LIB"] = library
        return subprocess.run([sys.executable, "-c", PROBE], env=environment, cwd=self.directory.name,
                              capture_output=True, text=True, timeout=TIMEOUT_S)

    def metadata(self):
        (dist_info,) = self.site.glob("pammcuda-*.dist-info")
        fields = (line.split(": ", 1) for line in (dist_info / "METADATA").read_text().splitlines() if ": " in line)
        # Older setuptools write "torch (>=1.13.0a0)", newer ones "torch>=1.13.0a0": compare without spaces and brackets.
        return {key: re.sub(r"[\s()]", "", value) for key, value in fields if key in ("Name", "Version", "Requires-Dist")}

    def test_installs_every_module_and_its_metadata(self):
        modules = {path.name for path in (self.site / "pammcuda").glob("*.py")}
        self.assertEqual(modules, {path.name for path in (SOURCE / "pammcuda").glob("*.py")})
        self.assertEqual(self.metadata(), {"Name": "pammcuda", "Version": "0.1.0", "Requires-Dist": "torch>=1.13.0a0"})

    def test_without_the_library_says_what_is_missing(self):
        result = self.probe()
        self.assertNotEqual(result.returncode, 0)
        expected = f"ImportError: cannot load libpammcuda.so from {self.site / 'pammcuda' / 'libpammcuda.so'} (set PAMMCUDA_LIB)"
        self.assertIn(expected, result.stderr)

    def test_finds_the_library_through_pammcuda_lib(self):
        result = self.probe(library=built_library())
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(pathlib.Path(report["file"]).parent, self.site / "pammcuda")
        self.assertEqual(report["library"], built_library())
        self.assertEqual(report["grad_shape"], [4, 8])

    def test_finds_the_library_beside_itself(self):
        beside = self.site / "pammcuda" / "libpammcuda.so"
        shutil.copyfile(built_library(), beside)
        try:
            result = self.probe()
        finally:
            beside.unlink()
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["library"], str(beside))
        # The package's version is the library's.
        self.assertEqual(report["version"], self.metadata()["Version"])


class WheelTests(unittest.TestCase):
    def test_a_wheel_carries_the_library_copied_into_the_package(self):
        with tempfile.TemporaryDirectory() as directory:
            source = copy_source(pathlib.Path(directory) / "source")
            shutil.copyfile(built_library(), source / "pammcuda" / "libpammcuda.so")
            result = pip("wheel", "--wheel-dir", directory, str(source))
            self.assertEqual(result.returncode, 0, f"{result.stdout}\n{result.stderr}")
            (wheel,) = pathlib.Path(directory).glob("pammcuda-0.1.0-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                names = set(archive.namelist())
        self.assertIn("pammcuda/libpammcuda.so", names)
        self.assertIn("pammcuda/convert.py", names)


if __name__ == "__main__":
    unittest.main()
