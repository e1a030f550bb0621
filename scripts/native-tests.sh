#!/usr/bin/env bash
# Builds libpammcuda.so (NativeAOT), then builds and runs the C ABI test, the PyTorch layer's tests and a pip
# install of the Python package.
# Prints one "<suite>: N passed, N failed" line per suite and exits non-zero if anything failed.
# Needs: the .NET SDK, gcc, and Debian's python3-torch, python3-pip, python3-setuptools and python3-wheel for
# /usr/bin/python3 (PYTHON overrides it).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
out="$root/artifacts/native"
mkdir -p "$out"

echo "== building libpammcuda.so"
if ! dotnet publish "$root/native/PammCuda.Native/PammCuda.Native.csproj" -c Release -r linux-x64 -o "$out" -nologo -v:q; then
    echo "native-build: 0 passed, 1 failed"
    exit 1
fi
library="$out/libpammcuda.so"

status=0
summary=()

echo "== C ABI test"
if gcc -std=c11 -O1 -Wall -Wextra -Werror -I "$root/native/include" "$root/native/tests/test_pamm.c" \
        -o "$out/test_pamm" -L "$out" -l:libpammcuda.so -Wl,-rpath,"$out" -lm -ldl; then
    c_output="$("$out/test_pamm")"
    c_status=$?
    echo "$c_output"
    c_counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$c_output" | tail -n1)"
    summary+=("c-abi: ${c_counts:-0 passed, 1 failed (no summary line)}")
    [[ $c_status -eq 0 && -n "$c_counts" ]] || status=1
else
    summary+=("c-abi: 0 passed, 1 failed (compile error)")
    status=1
fi

echo "== pamm.h as C++"
# C++ callers include the same header: its extern "C" block and declarations must compile there too, warnings as errors.
if ! command -v g++ > /dev/null; then
    summary+=("cxx-header: 0 passed, 0 failed, 1 skipped (no g++)")
elif printf '#include "pamm.h"\nint main() { pamm_options options; return pamm_options_init(&options) == PAMM_OK ? 0 : 1; }\n' |
        g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -I "$root/native/include" -x c++ - -o "$out/test_pamm_cxx" \
            -L "$out" -l:libpammcuda.so -Wl,-rpath,"$out" && "$out/test_pamm_cxx"; then
    summary+=("cxx-header: 1 passed, 0 failed")
else
    summary+=("cxx-header: 0 passed, 1 failed")
    status=1
fi

source "$root/scripts/unittest-summary.sh"

echo "== PyTorch layer tests ($python)"
if "$python" -c "import torch" 2>/dev/null; then
    py_output="$(cd "$root/native/python" && PAMMCUDA_LIB="$library" "$python" -m unittest discover -s tests -v 2>&1)"
    py_status=$?
    echo "$py_output"
    unittest_summary python "$py_output" $py_status
else
    summary+=("python: 0 passed, 1 failed (no torch for $python: apt-get install -y --no-install-recommends python3-torch)")
    status=1
fi

echo "== pip install of native/python ($python)"
if "$python" -c "import torch, setuptools, wheel" 2>/dev/null && "$python" -m pip --version >/dev/null 2>&1; then
    install_output="$(cd "$root/native/python" && PAMMCUDA_LIB="$library" "$python" -m unittest discover -s install_tests -v 2>&1)"
    install_status=$?
    echo "$install_output"
    unittest_summary python-install "$install_output" $install_status
else
    summary+=("python-install: 0 passed, 1 failed (no torch, pip, setuptools or wheel for $python: apt-get install -y --no-install-recommends python3-torch python3-pip python3-setuptools python3-wheel)")
    status=1
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
