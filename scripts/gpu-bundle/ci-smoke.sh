#!/usr/bin/env bash
# Builds the GPU bundle and runs it on this machine (no GPU) with the system .NET hidden, the way a GPU
# host sees it: proves the bundle brings everything it needs, that its own runtime is the one used, and
# that the suite passes here (GPU tests report themselves skipped).
# Usage: scripts/gpu-bundle/ci-smoke.sh   (results in artifacts/gpu-bundle-smoke/)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
results=$repo_root/artifacts/gpu-bundle-smoke

die() { echo "ci-smoke.sh: $*" >&2; exit 1; }

system_dotnet_home=$(dirname "$(readlink -f "$(command -v dotnet)")")
work=$(mktemp -d "${TMPDIR:-/tmp}/pammcuda-gpu-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
# xz's fastest level, and not in artifacts/ where a visit takes its bundle from: this one is only unpacked here (the
# size limit still applies to it); scripts/gpu-visit-prepare.sh builds a visit's with -9.
bundle=$work/gpu-bundle.tar.xz
PAMM_BUNDLE_XZ_LEVEL=0 "$script_dir/build.sh" "$bundle"
tar -C "$work" -xJf "$bundle"

# A PATH holding every tool of this machine except dotnet.
bin=$work/bin
mkdir -p "$bin" "$work/home"
for dir in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
  for tool in "$dir"/*; do
    name=${tool##*/}
    case $name in dotnet*) continue ;; esac
    if [ -f "$tool" ] && [ -x "$tool" ] && [ ! -e "$bin/$name" ]; then ln -s "$tool" "$bin/$name"; fi
  done
done
hidden_env=(env -i "PATH=$bin" "HOME=$work/home" "LANG=C.UTF-8")
if "${hidden_env[@]}" bash -c 'command -v dotnet' >/dev/null; then die "dotnet is still reachable on the smoke PATH"; fi
echo "system .NET ($system_dotnet_home) hidden: no dotnet on PATH, no DOTNET_* variables"

rm -rf "$results"
run_exit=0
# The suite but its two compile-bound fixtures (two minutes here): .ci/run's `dotnet test` has just run them on
# this machine, and nothing they check depends on the runtime that runs them. A GPU host runs the whole suite.
smoke_filter='FullyQualifiedName!~PammCuda.Tests.Engine.SamplingFallbackTests&FullyQualifiedName!~PammCuda.Tests.Cuda.NvrtcCompileTests'
"${hidden_env[@]}" PAMM_TEST_ARGS="--filter '$smoke_filter'" "$work/pammcuda-gpu-bundle/run.sh" "$results" --quick \
  || run_exit=$?

# run.sh checks the host trace against the bundle; this checks it independently against the system install.
if grep -q "$system_dotnet_home" "$results/logs/host-trace.log"; then
  die "the test run touched the system .NET in $system_dotnet_home (see $results/logs/host-trace.log)"
fi
grep -q '^  runtime    ok: bundled' "$results/summary.txt" || die "run.sh did not confirm the bundled runtime"
grep -q '<Counters [^>]* passed="[1-9]' "$results/tests/tests.trx" || die "no test passed"
[ "$run_exit" -eq 0 ] || die "run.sh exited $run_exit (see $results/summary.txt)"

# A GPU visit runs the steps one at a time (PAMM_STEPS) and the benchmarks its goals need (PAMM_BENCH_FILTERS).
steps_results=$work/steps-results
"${hidden_env[@]}" PAMM_STEPS=bench PAMM_BENCH_FILTERS="*GpuPammBenchmarks* *GpuSamplingBenchmarks*" \
  "$work/pammcuda-gpu-bundle/run.sh" "$steps_results" --quick > "$work/steps.log" 2>&1 || die "run.sh with PAMM_STEPS=bench failed (see $work/steps.log)"
grep -q '^  tests      skipped: not in PAMM_STEPS' "$steps_results/summary.txt" || die "PAMM_STEPS=bench ran the tests"
grep -q '^  sanitizer  skipped: not in PAMM_STEPS' "$steps_results/summary.txt" || die "PAMM_STEPS=bench ran the sanitizer"
grep -q '^  bench      ok' "$steps_results/summary.txt" || die "PAMM_STEPS=bench did not run the benchmarks"
steps_exit=0
"${hidden_env[@]}" PAMM_STEPS="tests bogus" "$work/pammcuda-gpu-bundle/run.sh" "$work/bogus-results" > "$work/bogus.log" 2>&1 || steps_exit=$?
[ "$steps_exit" -eq 2 ] && grep -q "unknown step 'bogus'" "$work/bogus.log" || die "an unknown step in PAMM_STEPS was not refused (exit $steps_exit)"
echo "ci-smoke: the bundle ran the suite on its own runtime; results in $results"
