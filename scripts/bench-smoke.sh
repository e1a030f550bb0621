#!/usr/bin/env bash
# Keeps the benchmark harness from rotting: builds PammCuda.Bench, runs the CPU suite in quick mode and the
# memory table into a scratch directory, and checks what they wrote. Measures nothing worth keeping.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
results="$(mktemp -d "${TMPDIR:-/tmp}/pammcuda-bench-smoke.XXXXXX")"
trap 'rm -rf "$results"' EXIT
cd "$repo"

fail() { echo "bench-smoke: $*" >&2; exit 1; }

dotnet build bench/PammCuda.Bench -c Release --nologo -v quiet
bench=(dotnet run -c Release --no-build --project bench/PammCuda.Bench --)

# Where the CPU has AVX2 and FMA, the suite runs with OpenBLAS's generic kernels, which an OpenBLAS older than the CPU
# falls back to, and its results must say that the float32 baseline is then too slow (it measures nothing kept here).
slow_blas= cpu_suite=("${bench[@]}")
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    slow_blas=Prescott cpu_suite=(env OPENBLAS_CORETYPE=Prescott "${bench[@]}")
fi

start=$SECONDS
"${cpu_suite[@]}" cpu --quick --results "$results"
echo "bench-smoke: cpu --quick took $((SECONDS - start)) s"
"${bench[@]}" memory-table --results "$results"

cpu_report=("$results"/*-cpu-*.md)
[[ -f "${cpu_report[0]}" ]] || fail "the CPU suite wrote no results file"
for method in Compress ApproxMatmul CompressAndQkv CpuExactFloat32 CpuExactBFloat16 CopyFloat32 CopyBFloat16; do
    grep -q "| $method " "${cpu_report[0]}" || fail "no $method row in ${cpu_report[0]}"
done
grep -q "| OpenBlasSgemm " "${cpu_report[0]}" || grep -q "OpenBLAS baseline skipped" "${cpu_report[0]}" \
    || fail "neither an OpenBLAS row nor the reason it was skipped"
! grep -E "^\|.*\| NA +\|" "${cpu_report[0]}" || fail "a case did not run (NA) in ${cpu_report[0]}"
if [ -n "$slow_blas" ] && grep -q "| OpenBlasSgemm " "${cpu_report[0]}"; then
    grep -q "^- \*\*OpenBLAS runs its Prescott kernels, without AVX2, on a CPU with AVX2 and FMA" "${cpu_report[0]}" \
        || fail "OpenBLAS ran its generic kernels on a CPU with AVX2 and the results do not say so"
fi

# The GPU suite on the emulated device, narrowed by three --filter globs: exactly the benchmarks that match one of them;
# with two invocations queued a timed span (--queue), which the header says. The side-by-side row is the one that forks
# work onto a second stream and joins it back (IDeviceStream.WaitFor), so it runs here before a GPU depends on it.
"${bench[@]}" gpu --device emulated --quick --queue 2 --filter '*GpuBaselineBenchmarks.CopyFloat32*' --filter '*GpuSamplingBenchmarks*' \
    --filter '*GpuProjectionBenchmarks.QkvGemmBesideCompress*' --results "$results/gpu"
gpu_report=("$results"/gpu/*-gpu-emulated-*.md)
[[ -f "${gpu_report[0]}" ]] || fail "the emulated GPU suite wrote no results file"
grep -q '^- timing: --queue 2: 2 invocations queued back to back' "${gpu_report[0]}" || fail "the header does not say --queue 2"
if "${bench[@]}" gpu --queue 0 > "$results/bad-queue.log" 2>&1; then fail "--queue 0 was accepted"; fi
grep -q -- "--queue takes the invocations a timed span" "$results/bad-queue.log" || fail "--queue 0 did not say why it was refused"
ran=$(grep -oE '^\| Gpu[A-Za-z]+ +\| [A-Za-z0-9]+ ' "${gpu_report[0]}" | tr -s ' ' | sort -u | tr '\n' ';')
[[ "$ran" == "| GpuBaselineBenchmarks | CopyFloat32 ;| GpuProjectionBenchmarks | QkvGemmBesideCompress ;| GpuProjectionBenchmarks | QkvGemmBesideCompressHighPriority ;| GpuSamplingBenchmarks | MultiBlock ;| GpuSamplingBenchmarks | OneBlock ;" ]] \
    || fail "three --filter globs ran '$ran' instead of CopyFloat32, both sampling paths and both QkvGemmBesideCompress rows"

diff -u bench/results/memory-table.md "$results/memory-table.md" \
    || fail "bench/results/memory-table.md is stale: regenerate it with 'PammCuda.Bench memory-table'"
echo "bench-smoke: ok"
