#!/usr/bin/env bash
# Runs PammCuda's test suite, compute-sanitizer checks and GPU benchmarks from this bundle with the
# bundled .NET runtime (never a system one). Writes only into this folder and the results folder.
# Every step runs even when an earlier one failed; the exit status is non-zero when any step failed.
set -uo pipefail

usage() {
  cat <<'USAGE'
Usage: ./run.sh [results-dir] [--quick]
  results-dir   where logs, TRX, sanitizer logs and benchmark reports go (default: ./results)
  --quick       short benchmark run
Environment overrides:
  PAMM_STEPS               which steps run, of "tests sanitizer bench" (default: all three; the host report always)
  PAMM_TEST_ARGS           extra test runner arguments, shell words (e.g. --filter "FullyQualifiedName~Gemm")
  PAMM_TEST_TIMEOUT        seconds before the test run is stopped (default 3600)
  PAMM_SANITIZER_WORKLOAD  GPU program run under compute-sanitizer, shell words; $PAMM_DOTNET and
                           $PAMM_BUNDLE may be used (default: the CLI's GPU demo at two sizes, one
                           per sampling path)
  PAMM_SANITIZER_TOOLS     compute-sanitizer tools (default: "memcheck racecheck")
  PAMM_SANITIZER_TIMEOUT   seconds per sanitizer run (default 1800)
  PAMM_COMPUTE_SANITIZER   path of compute-sanitizer when it is not found by itself
  PAMM_BENCH_ARGS          benchmark arguments, shell words (default: gpu --results <results>/bench-reports, plus --quick with --quick)
  PAMM_BENCH_FILTERS       BenchmarkDotNet globs added to the default arguments as --filter G each, e.g. "*GpuPammBenchmarks*
                           *GpuSamplingBenchmarks*": only the benchmarks that match one of them run
  PAMM_BENCH_TIMEOUT       seconds before the benchmark run is stopped (default 3600)
  PAMM_PYTHON              Python whose site-packages hold nvidia/*/lib (default: python3.12, python3)
  PAMMCUDA_CUDA_LIBRARY_PATH  extra folders searched first for the CUDA libraries
USAGE
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
results=
quick=no
for arg in "$@"; do
  case $arg in
    --quick) quick=yes ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "run.sh: unknown option $arg" >&2; usage >&2; exit 2 ;;
    *)
      if [ -n "$results" ]; then echo "run.sh: only one results folder, got '$results' and '$arg'" >&2; exit 2; fi
      results=$arg ;;
  esac
done
results=${results:-$here/results}
mkdir -p "$results" || exit 2
results=$(cd "$results" && pwd)
logs=$results/logs
mkdir -p "$logs" "$results/tmp"

# ---------------------------------------------------------------- the bundled runtime, and only it
dotnet_root=$here/dotnet
dotnet=$dotnet_root/dotnet
export DOTNET_ROOT=$dotnet_root DOTNET_ROOT_X64=$dotnet_root DOTNET_MULTILEVEL_LOOKUP=0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 TESTINGPLATFORM_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# These would let a machine-wide setting add assemblies or code to the bundled apps.
unset DOTNET_ADDITIONAL_DEPS DOTNET_SHARED_STORE DOTNET_STARTUP_HOOKS
# The kernel image cache and temporary files stay inside the results folder.
export PAMMCUDA_CACHE_DIR=$results/kernel-cache TMPDIR=$results/tmp
export PAMM_DOTNET=$dotnet PAMM_BUNDLE=$here

step_names=()
step_states=()
record() { step_names+=("$1"); step_states+=("$2"); echo ">> $1: $2"; }
read -r -a wanted_steps <<< "${PAMM_STEPS:-tests sanitizer bench}"
for step in "${wanted_steps[@]}"; do
  case $step in tests | sanitizer | bench) ;; *) echo "run.sh: unknown step '$step' in PAMM_STEPS (tests, sanitizer, bench)" >&2; exit 2 ;; esac
done
wants() { [[ " ${wanted_steps[*]} " == *" $1 "* ]]; }
section() { printf '\n==================== %s\n' "$1"; }

with_timeout() {
  local seconds=$1 group=()
  shift
  # timeout moves its command into a process group of its own, out of reach of a limit that ends a whole group: under
  # scripts/gpu-visit.sh (PAMM_VISIT_STAGE_SECONDS set), whose stage limit is such a one, the command stays in the
  # stage's group (--foreground), so that a stage cut short leaves no test run behind on the GPU.
  [ -n "${PAMM_VISIT_STAGE_SECONDS:-}" ] && group=(--foreground)
  if command -v timeout >/dev/null; then timeout "${group[@]}" --kill-after=30 "$seconds" "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- host report
section "host"
{
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host:      $(uname -n) $(uname -m), kernel $(uname -r)"
  if [ -r /etc/os-release ]; then echo "os:        $(. /etc/os-release && echo "${PRETTY_NAME:-$NAME}")"; fi
  echo "cpus:      $(nproc 2>/dev/null || echo '?')"
  if [ -r "$here/BUNDLE-INFO.txt" ]; then sed 's/^/bundle | /' "$here/BUNDLE-INFO.txt"; fi
} | tee "$results/host.txt"

gpu_line=none
cuda_driver_version=
has_gpu=no
if command -v nvidia-smi >/dev/null && nvidia-smi > "$logs/nvidia-smi.txt" 2>&1; then
  gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
    | awk -F', ' 'NR == 1 { first = $1 ", driver " $2 ", " $3 } END { print first (NR > 1 ? " (" NR " GPUs)" : "") }')
  cuda_driver_version=$(grep -o 'CUDA Version: [0-9.]*' "$logs/nvidia-smi.txt" | awk '{ print $3 }')
  [ -n "$gpu_line" ] && has_gpu=yes
fi
echo "gpu:       $gpu_line${cuda_driver_version:+, CUDA $cuda_driver_version (driver API)}" | tee -a "$results/host.txt"

ldconfig_bin=$(command -v ldconfig || ls /sbin/ldconfig /usr/sbin/ldconfig 2>/dev/null | head -n 1)
ldconfig_cache=$([ -n "$ldconfig_bin" ] && "$ldconfig_bin" -p 2>/dev/null)

python_site_dirs() {
  local py
  for py in ${PAMM_PYTHON:-} python3.12 python3; do
    command -v "$py" >/dev/null || continue
    "$py" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null
  done | awk '!seen[$0]++'
}
mapfile -t site_dirs < <(python_site_dirs)

# Folders outside the loader cache, in the order the library resolver is expected to prefer them; LD_LIBRARY_PATH and
# the NVIDIA container runtime's folder too, where the driver's libcuda may be mounted without a cache entry.
search_dirs=()
IFS=: read -r -a preset_dirs <<< "${PAMMCUDA_CUDA_LIBRARY_PATH:-}"
IFS=: read -r -a loader_env_dirs <<< "${LD_LIBRARY_PATH:-}"
for dir in "${preset_dirs[@]}" "${loader_env_dirs[@]}" /usr/local/nvidia/lib64 /usr/local/cuda/lib64 \
  /usr/local/cuda/targets/x86_64-linux/lib $(ls -d /usr/local/cuda-*/lib64 2>/dev/null | sort -rV); do
  [ -n "$dir" ] && [ -d "$dir" ] && search_dirs+=("$dir")
done
for site in "${site_dirs[@]}"; do
  for dir in "$site"/nvidia/*/lib; do [ -d "$dir" ] && search_dirs+=("$dir"); done
done

# Prints "path origin" of the first candidate name found (names are ordered newest first, as the
# resolver tries them); the loader cache is looked at after any preset folders, before the others.
find_library() {
  local name dir path
  for name in "$@"; do
    for dir in "${preset_dirs[@]}"; do
      if [ -n "$dir" ] && [ -e "$dir/$name" ]; then echo "$dir/$name preset"; return; fi
    done
    path=$(awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }' <<< "$ldconfig_cache")
    if [ -n "$path" ]; then echo "$path ldconfig"; return; fi
    for dir in "${search_dirs[@]}"; do
      if [ -e "$dir/$name" ]; then echo "$dir/$name search"; return; fi
    done
  done
}

library_path_dirs=()
loader_path_dirs=()
add_unique() { # array-name value
  local -n list=$1
  local item
  for item in "${list[@]}"; do [ "$item" = "$2" ] && return; done
  list+=("$2")
}
for family in "libcuda.so.1" \
  "libnvrtc.so.13 libnvrtc.so.12 libnvrtc.so.11.2" \
  "libcublasLt.so.13 libcublasLt.so.12 libcublasLt.so.11" \
  "libcublas.so.13 libcublas.so.12 libcublas.so.11"; do
  read -r -a names <<< "$family"
  read -r path origin <<< "$(find_library "${names[@]}")"
  if [ -z "${path:-}" ]; then
    printf 'library:   %-20s not found (tried %s)\n' "${names[0]%%.so*}" "${names[*]}" | tee -a "$results/host.txt"
    continue
  fi
  real=$(readlink -f "$path")
  version=${real##*/}
  version=${version#*.so.}
  printf 'library:   %-20s %s -> %s (version %s, via %s)\n' "${path##*/}" "$path" "$real" "$version" "$origin" \
    | tee -a "$results/host.txt"
  add_unique library_path_dirs "$(dirname "$path")"
  # libcublas loads libcublasLt and libnvrtc loads its builtins by name, so their folders must be on
  # the loader path too; folders from the loader cache are searched already.
  [ "$origin" = ldconfig ] || add_unique loader_path_dirs "$(dirname "$path")"
done
PAMMCUDA_CUDA_LIBRARY_PATH=$(IFS=:; echo "${library_path_dirs[*]}")
export PAMMCUDA_CUDA_LIBRARY_PATH
if [ ${#loader_path_dirs[@]} -gt 0 ]; then
  LD_LIBRARY_PATH=$(IFS=:; echo "${loader_path_dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
fi
echo "PAMMCUDA_CUDA_LIBRARY_PATH=$PAMMCUDA_CUDA_LIBRARY_PATH" | tee -a "$results/host.txt"
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" | tee -a "$results/host.txt"
if [ "$has_gpu" = yes ] && [ -z "$(find_library libcuda.so.1)" ]; then has_gpu=no; fi
# Without ICU the runtime refuses to start; the tests do not depend on culture data. An empty loader cache (no
# ldconfig, or one that lists nothing) says nothing about ICU either, so it is treated as none.
if ! grep -q 'libicuuc\.so' <<< "$ldconfig_cache"; then
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
  echo "note:      no libicu on this host; .NET runs in invariant-globalization mode" | tee -a "$results/host.txt"
fi
record host "ok: GPU $([ "$has_gpu" = yes ] && echo present || echo absent)"

# ---------------------------------------------------------------- runtime
section "runtime"
if [ -x "$dotnet" ] && "$dotnet" --list-runtimes > "$logs/runtimes.txt" 2>&1; then
  echo "dotnet host: $dotnet"
  sed 's/^/  /' "$logs/runtimes.txt"
  echo "(on PATH: $(command -v dotnet || echo 'no dotnet') — not used)"
else
  record runtime "FAILED: the bundled dotnet host does not start (see logs/runtimes.txt)"
fi

# ---------------------------------------------------------------- tests
section "tests"
trx=$results/tests/tests.trx
tests_line="not run (PAMM_STEPS)"
run_tests() {
  rm -f "$trx" "$logs/host-trace.log"
  eval "test_args=(${PAMM_TEST_ARGS:-})"
  # The host trace records which hostfxr and framework folders the test process really used.
  with_timeout "${PAMM_TEST_TIMEOUT:-3600}" env COREHOST_TRACE=1 COREHOST_TRACEFILE="$logs/host-trace.log" \
    "$dotnet" "$here/tests/PammCuda.Tests.dll" --report-trx --report-trx-filename tests.trx \
    --results-directory "$results/tests" --no-ansi "${test_args[@]}" 2>&1 | tee "$logs/tests.log"
  test_exit=${PIPESTATUS[0]}

  trx_counter() { grep -o '<Counters [^>]*>' "$trx" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]\+'; }
  tests_line="no TRX written"
  if [ -f "$trx" ]; then
    total=$(trx_counter total); executed=$(trx_counter executed)
    passed=$(trx_counter passed); failed=$(( $(trx_counter failed) + $(trx_counter error) + $(trx_counter timeout) + $(trx_counter aborted) ))
    skipped=$((total - executed))
    tests_line="total $total, passed $passed, failed $failed, skipped $skipped"
  fi
  if [ -f "$trx" ] && [ "$test_exit" -eq 0 ] && [ "$failed" -eq 0 ]; then
    record tests "ok: $tests_line"
  else
    record tests "FAILED: $tests_line (test runner exit $test_exit)"
  fi

  fx_dirs=$(grep -o 'Chose FX version \[[^]]*\]' "$logs/host-trace.log" 2>/dev/null | sed 's/.*\[\(.*\)\]/\1/' | sort -u)
  fxr_paths=$(grep -o 'Resolved fxr \[[^]]*\]' "$logs/host-trace.log" 2>/dev/null | sed 's/.*\[\(.*\)\]/\1/' | sort -u)
  runtime_used=$(printf '%s\n%s\n' "$fxr_paths" "$fx_dirs" | sed '/^$/d')
  if [ -z "$runtime_used" ]; then
    record runtime "FAILED: no host trace of the test run (see logs/host-trace.log)"
  elif grep -qv "^$dotnet_root/" <<< "$runtime_used"; then
    record runtime "FAILED: the tests ran on a runtime outside the bundle: $(tr '\n' ' ' <<< "$runtime_used")"
  else
    record runtime "ok: bundled $(sed -n 's|.*/Microsoft.NETCore.App/||p' <<< "$fx_dirs" | tr '\n' ' ')(hostfxr and framework under $dotnet_root)"
  fi
}
if wants tests; then run_tests; else record tests "skipped: not in PAMM_STEPS"; fi

# ---------------------------------------------------------------- compute-sanitizer
section "compute-sanitizer"
find_sanitizer() {
  local candidate
  for candidate in "${PAMM_COMPUTE_SANITIZER:-}" "$(command -v compute-sanitizer)" \
    /usr/local/cuda/bin/compute-sanitizer $(ls -d /usr/local/cuda-*/bin/compute-sanitizer 2>/dev/null | sort -rV); do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return; fi
  done
  for site in "${site_dirs[@]}"; do
    for candidate in "$site"/nvidia/*/compute-sanitizer/compute-sanitizer "$site"/nvidia/*/bin/compute-sanitizer; do
      if [ -x "$candidate" ]; then echo "$candidate"; return; fi
    done
  done
}
run_sanitizer() {
  sanitizer=$(find_sanitizer)
  sanitizer_line=
  # Each workload is one command line in shell words, run alone first and then under each tool.
  if [ -n "${PAMM_SANITIZER_WORKLOAD:-}" ]; then
    workloads=("$PAMM_SANITIZER_WORKLOAD")
    workload_available=yes
  else
    demo='"$PAMM_DOTNET" "$PAMM_BUNDLE/cli/pamm.dll" demo --device gpu'
    # 1: k = 300 sorts in two radix passes over 16-bit f, bf16 α takes the _alpha_bf16 kernels, ε < 1 the row norms and
    #    the dropped count, --repeat 2 runs the product twice (an engine-owned compression builds its plan once),
    #    b = 4096 samples the generators in one block (pamm_sample_block, b ≤ 16384), and --refine adds the generator
    #    refinement after the assignment (the dense assignment, its GEMM, pamm_refine_generators, pamm_refit_alpha).
    # 2: b = 20480 samples them with the three multi-block kernels (pamm_sample_keys, _candidates, _scatter), X and G in
    #    bf16 (the 16-bit gather, the widening of C and the 16-bit reduction: what training under autocast runs), and the
    #    product's last stage (pamm_expand) writes the m x n layout. PammDeviceTests runs both on a GPU.
    workloads=("$demo --rows 4096 --cols 256 --grad-cols 256 --k 300 --alpha bf16 --epsilon 0.5 --refine --repeat 2"
      "$demo --rows 20480 --cols 64 --grad-cols 72 --k 24 --dtype bf16 --layout grad-by-in")
    # The CLI's demo command may not exist in an older bundle; that is a note, not a failure.
    if "$dotnet" "$here/cli/pamm.dll" demo --help > "$logs/workload-help.log" 2>&1; then workload_available=yes; else workload_available=no; fi
  fi
  if [ -z "$sanitizer" ]; then
    record sanitizer "skipped: compute-sanitizer not found (PATH, /usr/local/cuda*/bin, python nvidia/*; set PAMM_COMPUTE_SANITIZER)"
  elif [ "$has_gpu" = no ]; then
    record sanitizer "skipped: no GPU"
  elif [ "$workload_available" = no ]; then
    record sanitizer "skipped: the CLI has no 'demo' command (see logs/workload-help.log); set PAMM_SANITIZER_WORKLOAD"
  else
    echo "compute-sanitizer: $sanitizer ($("$sanitizer" --version 2>/dev/null | grep -o 'Version [^ ]*' | head -n 1))"
    read -r -a tools <<< "${PAMM_SANITIZER_TOOLS:-memcheck racecheck}"
    sanitizer_failed=no
    for index in "${!workloads[@]}"; do
      eval "workload=(${workloads[$index]})"
      # The first workload's logs keep their names (workload.log, sanitizer-<tool>.log); the second's end in -2.
      suffix=$([ "$index" -eq 0 ] || echo "-$((index + 1))")
      label=$([ "${#workloads[@]}" -eq 1 ] || echo "workload $((index + 1)) ")
      echo "workload $((index + 1)): ${workload[*]}"
      # A workload that fails on its own would make every sanitizer verdict meaningless.
      with_timeout "${PAMM_SANITIZER_TIMEOUT:-1800}" "${workload[@]}" > "$logs/workload$suffix.log" 2>&1
      workload_exit=$?
      if [ "$workload_exit" -ne 0 ]; then
        sanitizer_line+="${label:-the workload }exits $workload_exit without the sanitizer (see logs/workload$suffix.log); "
        sanitizer_failed=yes
        continue
      fi
      for tool in "${tools[@]}"; do
        log=$logs/sanitizer-$tool$suffix.log
        with_timeout "${PAMM_SANITIZER_TIMEOUT:-1800}" "$sanitizer" --tool "$tool" "${workload[@]}" > "$log" 2>&1
        tool_exit=$?
        # memcheck ends with "ERROR SUMMARY: N errors", racecheck with "RACECHECK SUMMARY: H hazards displayed (N errors, W warnings)".
        errors=$(grep -oE 'ERROR SUMMARY: [0-9]+ error|RACECHECK SUMMARY: [^(]*\([0-9]+ error' "$log" | tail -n 1 | grep -oE '[0-9]+ error' | awk '{ print $1 }')
        if [ -z "$errors" ]; then
          sanitizer_line+="$label$tool: no summary (exit $tool_exit); "
          sanitizer_failed=yes
        else
          sanitizer_line+="$label$tool: $errors errors; "
          if [ "$errors" -ne 0 ] || [ "$tool_exit" -ne 0 ]; then sanitizer_failed=yes; fi
        fi
        echo "$label$tool: exit $tool_exit, $(grep -h 'SUMMARY' "$log" | tr '\n' ' ')"
      done
    done
    if [ "$sanitizer_failed" = yes ]; then record sanitizer "FAILED: ${sanitizer_line%; }"; else record sanitizer "ok: ${sanitizer_line%; }"; fi
  fi
}
if wants sanitizer; then run_sanitizer; else record sanitizer "skipped: not in PAMM_STEPS"; fi

# ---------------------------------------------------------------- benchmarks
section "benchmarks"
bench_reports=()
run_bench() {
  bench_dll=$here/bench/PammCuda.Bench.dll
  if [ ! -f "$bench_dll" ]; then
    record bench "skipped: no benchmarks in this bundle"
  else
    mkdir -p "$results/bench"
    # Without a GPU the GPU suite reports "no GPU: <reason>" and exits 0, which still proves the program starts; the
    # same arguments either way, so that a GPU this script did not see still runs only the chosen shapes.
    if [ -n "${PAMM_BENCH_ARGS:-}" ]; then
      eval "bench_args=($PAMM_BENCH_ARGS)"
    else
      bench_args=(gpu --results "$results/bench-reports")
      [ "$quick" = yes ] && bench_args+=(--quick)
      read -r -a filters <<< "${PAMM_BENCH_FILTERS:-}"
      for filter in "${filters[@]}"; do bench_args+=(--filter "$filter"); done
    fi
    echo "benchmark arguments: ${bench_args[*]}"
    # BenchmarkDotNet writes its artifacts under the working folder.
    (cd "$results/bench" && with_timeout "${PAMM_BENCH_TIMEOUT:-3600}" "$dotnet" "$bench_dll" "${bench_args[@]}") 2>&1 \
      | tee "$logs/bench.log"
    bench_exit=${PIPESTATUS[0]}
    mkdir -p "$results/bench-reports"
    for report in "$results"/bench/BenchmarkDotNet.Artifacts/results/*.md; do
      [ -f "$report" ] && cp "$report" "$results/bench-reports/"
    done
    for report in "$results"/bench-reports/*.md; do
      [ -f "$report" ] && bench_reports+=("${report##*/}")
    done
    if [ "$bench_exit" -ne 0 ]; then
      record bench "FAILED: exit $bench_exit (see logs/bench.log)"
    elif [ "$has_gpu" = no ]; then
      record bench "ok: no GPU, the GPU suite said why and measured nothing"
    else
      record bench "ok: ${#bench_reports[@]} reports"
    fi
  fi
}
if wants bench; then run_bench; else record bench "skipped: not in PAMM_STEPS"; fi

# ---------------------------------------------------------------- summary
exit_status=0
for state in "${step_states[@]}"; do case $state in FAILED*) exit_status=1 ;; esac; done
{
  echo
  echo "==================== PammCuda GPU bundle: summary"
  echo "bundle:    $(sed -n 's/^source commit: *//p' "$here/BUNDLE-INFO.txt" 2>/dev/null)"
  echo "host:      $(uname -n), $gpu_line${cuda_driver_version:+, CUDA $cuda_driver_version}"
  grep '^library:' "$results/host.txt"
  echo "tests:     $tests_line"
  if [ -f "$trx" ]; then
    grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | grep -o 'testName="[^"]*"' \
      | sed -n '1,10s/testName="\(.*\)"/  failed:  \1/p'
  fi
  for i in "${!step_names[@]}"; do printf '  %-10s %s\n' "${step_names[$i]}" "${step_states[$i]}"; done
  if [ ${#bench_reports[@]} -gt 0 ]; then echo "bench reports (bench-reports/): ${bench_reports[*]}"; fi
  echo "results:   $results (logs/, tests/tests.trx, summary.txt)"
  echo "exit:      $exit_status"
} | tee "$results/summary.txt"
exit "$exit_status"
