#!/usr/bin/env bash
# Compiles every kernel with NVRTC 12 as well: CI's own NVRTC is Debian 12's 11.8, a GPU host's is what its CUDA
# brings (13 on the lent H200s), and users run anything from 11.2 up. Debian 13 (trixie) has NVRTC 12.4 in non-free:
# its two libraries are downloaded and unpacked under artifacts/nvrtc12 (nothing is installed; about 30 MB), put
# first on the library path, and the NVRTC fixture of the .NET tests runs against them, with the version it must
# have loaded named (PAMM_EXPECT_NVRTC), so that a fallback to the system's NVRTC fails instead of passing.
# Prints "nvrtc12: N passed, N failed, N skipped". Needs network access to deb.debian.org (DEBIAN_MIRROR names
# another mirror) and the .NET SDK.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
dir="$repo/artifacts/nvrtc12"
version=12.4
lib="$dir/root/usr/lib/x86_64-linux-gnu"

if [ ! -e "$lib/libnvrtc.so.12" ]; then
    # shellcheck source=debian-apt.sh
    source scripts/debian-apt.sh
    private_apt "$dir/apt" trixie non-free
    (cd "$dir/apt/archives" && apt-get download -qq libnvrtc12 "libnvrtc-builtins$version")
    for deb in "$dir"/apt/archives/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PAMM_EXPECT_NVRTC=$version \
    dotnet test tests/PammCuda.Tests -- --filter "FullyQualifiedName~PammCuda.Tests.Cuda.NvrtcCompileTests" 2>&1 \
    | tee "$log" || status=$?
# shellcheck source=dotnet-test-summary.sh
source scripts/dotnet-test-summary.sh
counts=$(dotnet_test_counts "$log")
read -r ok bad skip <<<"${counts:-0 1 0}"
# No test run, or a failing exit with every test passed (the build or the host failed), is a failure.
if [ "$ok" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; }; then bad=$((bad + 1)); fi
echo "nvrtc12: $ok passed, $bad failed, $skip skipped"
[ "$bad" -eq 0 ]
