#!/usr/bin/env bash
# Builds the GPU bundle: a tarball that runs the test suite, the compute-sanitizer workload and the
# GPU benchmarks on a GPU host that has the NVIDIA driver and CUDA libraries but no .NET and no network.
# It carries its own .NET runtime (copied from the SDK that builds it), so nothing has to be installed there.
#
# Usage: scripts/gpu-bundle/build.sh [output.tar.xz]   (default: artifacts/gpu-bundle.tar.xz)
#        PAMM_BUNDLE_XZ_LEVEL=0..9 (default 9, the smallest: a visit carries 64 MiB in all; 0 is 7 times faster for a
#        bundle that is only unpacked here, as ci-smoke.sh's is: 41 MB against 34, in 7 s against 47 on two cores)
set -euo pipefail

readonly bundle_name=pammcuda-gpu-bundle
readonly max_bytes=${PAMM_BUNDLE_MAX_BYTES:-60000000}
readonly xz_level=${PAMM_BUNDLE_XZ_LEVEL:-9}
readonly target_runtime_major=10

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
output=${1:-$repo_root/artifacts/gpu-bundle.tar.xz}
case $output in /*) ;; *) output=$PWD/$output ;; esac

die() { echo "build.sh: $*" >&2; exit 1; }

# The bundled runtime is a copy of this machine's, so it only fits hosts of the same kind.
[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] || die "must be built on x86-64 Linux (GPU hosts are linux-x64)"
if grep -qi musl <(ldd --version 2>&1); then die "this machine uses musl; GPU hosts use glibc"; fi

command -v dotnet >/dev/null || die "no dotnet on PATH (the .NET SDK builds the bundle)"
command -v xz >/dev/null || die "xz is required"
[[ $xz_level =~ ^[0-9]$ ]] || die "PAMM_BUNDLE_XZ_LEVEL must be a level of xz from 0 to 9, not '$xz_level'"
dotnet_home=$(dirname "$(readlink -f "$(command -v dotnet)")")

# The newest installed Microsoft.NETCore.App of the major version the projects target, and the host
# resolver (hostfxr) that ships with it; `dotnet --list-runtimes` prints "<name> <version> [<dir>]".
runtime_version=$(dotnet --list-runtimes | awk -v major="$target_runtime_major" \
  '$1 == "Microsoft.NETCore.App" && index($2, major ".") == 1 { print $2 }' | sort -V | tail -n 1)
[ -n "$runtime_version" ] || die "no Microsoft.NETCore.App $target_runtime_major.x runtime installed"
runtime_dir=$dotnet_home/shared/Microsoft.NETCore.App/$runtime_version
fxr_version=$(ls "$dotnet_home/host/fxr" | sort -V | tail -n 1)
fxr_dir=$dotnet_home/host/fxr/$fxr_version
[ -d "$runtime_dir" ] || die "runtime folder $runtime_dir not found"
[ -f "$fxr_dir/libhostfxr.so" ] || die "libhostfxr.so not found in $fxr_dir"

work=$(mktemp -d "${TMPDIR:-/tmp}/pammcuda-gpu-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/$bundle_name
mkdir -p "$stage"

# Framework-dependent publish: the bundled runtime provides the framework. Only English resources:
# nobody reads localized test-platform messages in a log, and they cost megabytes.
publish() {
  local project=$1 destination=$2
  echo "== publish $project"
  dotnet publish "$repo_root/$project" -c Release -r linux-x64 --self-contained false \
    -p:SatelliteResourceLanguages=en --nologo -v:minimal -o "$destination"
}

publish tests/PammCuda.Tests "$stage/tests"
# Microsoft.NET.Test.Sdk copies VSTest's code-coverage data collector (about 30 MB) into the output;
# the suite runs on Microsoft.Testing.Platform, which never loads it.
rm -rf "$stage/tests/Microsoft.CodeCoverage"

publish src/PammCuda.Cli "$stage/cli"

included_bench=no
if [ -f "$repo_root/bench/PammCuda.Bench/PammCuda.Bench.csproj" ]; then
  publish bench/PammCuda.Bench "$stage/bench"
  included_bench=yes
else
  echo "note: bench/PammCuda.Bench/PammCuda.Bench.csproj does not exist yet; the bundle has no benchmarks"
fi

echo "== copy .NET runtime $runtime_version (hostfxr $fxr_version) from $dotnet_home"
mkdir -p "$stage/dotnet/host/fxr" "$stage/dotnet/shared/Microsoft.NETCore.App"
cp -a "$dotnet_home/dotnet" "$stage/dotnet/"
for notice in LICENSE.txt ThirdPartyNotices.txt; do
  if [ -f "$dotnet_home/$notice" ]; then cp -a "$dotnet_home/$notice" "$stage/dotnet/"; fi
done
cp -a "$fxr_dir" "$stage/dotnet/host/fxr/"
cp -a "$runtime_dir" "$stage/dotnet/shared/Microsoft.NETCore.App/"

cp "$script_dir/run.sh" "$script_dir/README.md" "$stage/"
chmod +x "$stage/run.sh"

commit=$(git -C "$repo_root" describe --always --dirty 2>/dev/null || echo unknown)
cat > "$stage/BUNDLE-INFO.txt" <<INFO
PammCuda GPU bundle
source commit:   $commit
built:           $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)
.NET runtime:    Microsoft.NETCore.App $runtime_version, hostfxr $fxr_version (linux-x64, glibc)
tests:           tests/PammCuda.Tests.dll
cli:             cli/pamm.dll
benchmarks:      $([ "$included_bench" = yes ] && echo bench/PammCuda.Bench.dll || echo "not included")
INFO

echo "== compress (xz -$xz_level)"
mkdir -p "$(dirname "$output")"
# Written beside the output and renamed, so an interrupted or oversized build leaves no bundle behind.
partial=$output.partial
trap 'rm -rf "$work" "$partial"' EXIT
# 64 MiB blocks: the ~120 MB tar is two blocks that two threads compress side by side (one 192 MiB block of -9 took
# one core 93 s on a 2-core machine; two take 46 s, for 0.2 MB more).
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner -cf - "$bundle_name" | xz "-$xz_level" -T0 --block-size=64MiB > "$partial"

size=$(stat -c %s "$partial")
if [ "$size" -gt "$max_bytes" ]; then
  die "bundle is $size bytes, over the limit of $max_bytes bytes; not written"
fi
mv -f "$partial" "$output"

echo "bundle: $output"
echo "size:   $size bytes ($((size / 1000000)) MB, limit $((max_bytes / 1000000)) MB)"
echo "sha256: $(sha256sum "$output" | cut -d' ' -f1)"
