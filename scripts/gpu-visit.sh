#!/usr/bin/env bash
# Everything a GPU visit runs, in one call (a lent GPU host gives 15 minutes of device time in all).
# Prepare here with scripts/gpu-visit-prepare.sh, then on the host, from the repository root:
#
#   scripts/gpu-visit.sh OUT [STAGE...]      stages, run in the order given: tests c python train-tests peer train goals queued bench
#                                            (default: c train tests train-tests goals queued peer python, the order of importance)
#
#   tests   the bundle's .NET test suite and compute-sanitizer                               ~3 min on an H100
#   c       the C ABI test (native/tests/test_pamm.c) on the GPU: caller memory, shared devices, per-call options,
#           batched products; then again under compute-sanitizer memcheck
#   python  the PyTorch package's tests on CUDA (memory accounting, graph capture, no host sync, convert, compile)
#                                                                                   ~4 min on an H200 (227 s, 2026-12-04)
#           (PAMM_PYTHON_TESTS="test_side_stream test_memory": only those modules)
#   train-tests  the training program's tests on CUDA (a step's peak memory, PAMM against dense; compiled training) ~2 min
#   peer    bench/peer: PAMM as a PyTorch user writes it, pammcuda and cuBLAS, timed in one run (--quick)
#   train   bench/train on llama-60m in bf16 autocast, 64K tokens per step: dense, pamm, crs, checkpoint,
#           pamm:fused (Q/K/V and the compression from one GEMM) and pamm:overlap (the compression on a side stream)
#           for equal steps, as many as fit in
#           PAMM_TRAIN_SECONDS (default 90) of dense; results are rewritten after each mode     ~8 min (~4 at 30 s)
#           (first, in seconds: what one step of each mode keeps for backward at llama-60m and llama-130m, --memory-only)
#   goals   the GPU benchmarks that #14's goals read (product, compression and cuBLAS; forward-GEMM cost; sampling; stages),
#           --quick shapes                                                                 ~1.5 min (57 s on an H200 with n = 2048 alone)
#   queued  the same with --queue 20: 20 invocations a timed span, the host never waiting between them, so the device's
#           own time per operation (the host's launch gaps hidden); against goals, the host's share  ~1 min
#   bench   every GPU benchmark of the bundle (--quick shapes)
#
# Carried from here (ignored by git): artifacts/gpu-bundle.tar.xz, artifacts/native/libpammcuda.so,
# artifacts/native/test_pamm, artifacts/train-data/bytes. Every stage writes under OUT; the exit status is non-zero when a stage failed.
# The device tool brings back at most 8 files from its $OUT, none deeper than two folders, so on the device OUT is a
# scratch folder and PAMM_VISIT_ARCHIVE names the one file that comes back: OUT packed as a .tar.gz, rewritten after every
# stage (so a call cut off keeps the stages before the cut), with visit.log, this script's own output.
# Overrides: PAMM_REQUIRE_CUDA=0 (a rehearsal without a GPU: CUDA tests skip instead of failing), PAMM_TRAIN_ARGS
# (replaces the training arguments), PAMM_PYTHON_TESTS (the python stage's modules), PAMM_PEER_ARGS (added to the peer's: a rehearsal's CPU takes minutes a shape
# of --quick's, so it names smaller ones), PAMM_MEMORY_CONFIGS (the configs of the train stage's --memory-only tables, default
# "llama-60m llama-130m"), PAMM_COMMIT (recorded with the results).
#
# Time: device time is the scarce thing, so no stage can take the others' share. Each runs under a limit (below;
# PAMM_STAGE_SECONDS="python=120 train=400" changes some) and is ended with its processes when it passes it, reported
# TIMED OUT. PAMM_VISIT_SECONDS (set it a little under the device call's timeout) bounds the whole visit: each stage gets
# at most what is left of it less 10 s (a stage may overrun its limit by that much while its processes are ended), and
# a stage that would get less than 10 s is not started, so the summary and every log are written before the device
# call is cut off. The archive leaves out kernel caches and temporary files; Python's output is unbuffered.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
script=$root/scripts/gpu-visit.sh
# The stages by name, with the seconds each may take at most (generous: a limit is there to stop a hang).
declare -A function_of=([tests]=tests [c]=c_abi_test [python]=python_tests [train-tests]=train_tests [peer]=peer [train]=train
  [goals]=goals [queued]=queued_goals [bench]=bench)
stage_names="tests, c, python, train-tests, peer, train, goals, queued, bench"
declare -A limit_of=([tests]=360 [c]=180 [python]=420 [train-tests]=300 [peer]=240 [train]=900 [goals]=300 [queued]=300 [bench]=570)
if [ "${1:-}" = --one-stage ]; then  # internal: how stage() runs one stage in a process group of its own, under timeout
  one_stage=$2 out=$3
else
  one_stage=
  out=${1:?usage: scripts/gpu-visit.sh OUT [STAGE...], stages: $stage_names}
  shift
  stages=("$@")
  [ ${#stages[@]} -gt 0 ] || stages=(c train tests train-tests goals queued peer python)
  for name in "${stages[@]}"; do
    [ -n "${function_of[$name]:-}" ] || { echo "gpu-visit: unknown stage '$name' ($stage_names)" >&2; exit 2; }
  done
  for setting in ${PAMM_STAGE_SECONDS:-}; do
    name=${setting%%=*} seconds=${setting#*=}
    if [ -z "${limit_of[$name]:-}" ] || ! [[ $seconds =~ ^[0-9]+$ ]]; then
      echo "gpu-visit: PAMM_STAGE_SECONDS has '$setting'; each entry is STAGE=SECONDS, a stage of: $stage_names" >&2
      exit 2
    fi
    limit_of[$name]=$seconds
  done
  if ! [[ ${PAMM_VISIT_SECONDS:-0} =~ ^[0-9]+$ ]]; then
    echo "gpu-visit: PAMM_VISIT_SECONDS is '$PAMM_VISIT_SECONDS'; it must be a whole number of seconds" >&2
    exit 2
  fi
  out=$(realpath -m "$out")
  archive=${PAMM_VISIT_ARCHIVE:-}
  if [ -n "$archive" ]; then
    archive=$(realpath -m "$archive")
    if [[ $archive != *.tar.gz ]] || [ ! -d "$(dirname "$archive")" ] || [[ $archive == "$out"/* ]]; then
      echo "gpu-visit: PAMM_VISIT_ARCHIVE is '$PAMM_VISIT_ARCHIVE'; it must name a .tar.gz file in a folder that exists, outside OUT" >&2
      exit 2
    fi
  fi
  deadline=$((SECONDS + ${PAMM_VISIT_SECONDS:-86400}))
  mkdir -p "$out"
  : > "$out/visit.log"
fi
python=${PAMM_PYTHON:-python3}
export PAMMCUDA_LIB=$root/artifacts/native/libpammcuda.so
# Progress lines reach the stage's log as they are printed, so a stage ended by its limit keeps them.
export PYTHONUNBUFFERED=1
failed=()

# The folders the library resolver should search for libnvrtc/libcublas: the CUDA toolkit's and the pip wheels
# PyTorch brings (nvidia/*/lib), the same places the bundle's run.sh looks at.
cuda_library_path() {
  local dirs=() site dir
  for dir in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib $(ls -d /usr/local/cuda-*/lib64 2>/dev/null | sort -rV); do
    [ -d "$dir" ] && dirs+=("$dir")
  done
  while read -r site; do
    for dir in "$site"/nvidia/*/lib "$site"/nvidia/cu*/lib; do [ -d "$dir" ] && dirs+=("$dir"); done
  done < <("$python" -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null)
  (IFS=:; echo "${dirs[*]}")
}
export PAMMCUDA_CUDA_LIBRARY_PATH=${PAMMCUDA_CUDA_LIBRARY_PATH:-$(cuda_library_path)}
export PAMM_COMMIT=${PAMM_COMMIT:-$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
# On a GPU host a CUDA test that cannot run is a failure, not a skip (the .NET, C and Python tests read this); a
# rehearsal without a GPU sets PAMM_REQUIRE_CUDA=0.
export PAMM_REQUIRE_CUDA=${PAMM_REQUIRE_CUDA:-1}

# say LINE...: the visit's own output, also kept in $out/visit.log (the device call returns only the end of stdout).
say() { printf '%s\n' "$*" | tee -a "$out/visit.log"; }

# pack: OUT into the archive, replaced whole (a rename), so whatever cuts the visit off leaves the last complete one.
# The kernel caches and temporary files stay out (megabytes of compiled kernels; the device tool brings back no file
# over its size limit at all). tar's status 1 (a file changed while read, e.g. a log still being written) keeps the
# archive: everything else in it is whole.
pack() {
  [ -n "$archive" ] || return 0
  local code=0
  tar -czf "$archive.partial" --warning=no-file-changed --ignore-failed-read \
    --exclude='./*/kernel-cache' --exclude='./*/tmp' -C "$out" . || code=$?
  if [ "$code" -le 1 ] && mv -f "$archive.partial" "$archive"; then
    [ "$(stat -c %s "$archive")" -le $((15 * 1024 * 1024)) ] || say "gpu-visit: $archive is over 15 MiB; the device tool may not bring it back"
  else
    say "gpu-visit: could not write $archive (tar exit $code)"
  fi
}

# stage NAME: runs one stage under its time limit, its output in $out/NAME.log, and says how it went.
stage() {
  local name=$1 started=$SECONDS seconds=${limit_of[$1]} left=$((deadline - SECONDS)) code=0
  say "==================== $name"
  # A stage ends at most 10 s after its limit (timeout's --kill-after), then the archive is packed: both must fit
  # before the deadline.
  left=$((left - 10))
  if [ "$left" -lt 10 ]; then
    say ">> $name: NOT RUN: $((left + 10)) s of the visit's PAMM_VISIT_SECONDS left"
    tail -n 1 "$out/visit.log" > "$out/$name.log"
    failed+=("$name")
    return
  fi
  [ "$left" -lt "$seconds" ] && seconds=$left
  # timeout puts the stage in a process group of its own and ends all of it (dotnet, python and their children; the
  # bundle's own time limits stay in that group when PAMM_VISIT_STAGE_SECONDS is set).
  PAMM_VISIT_STAGE_SECONDS=$seconds timeout --kill-after=10 "$seconds" bash "$script" --one-stage "$name" "$out" \
    > "$out/$name.log" 2>&1 || code=$?
  if [ "$code" -eq 0 ]; then
    say ">> $name: passed ($((SECONDS - started)) s)"
  elif [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
    say ">> $name: TIMED OUT after $seconds s (its limit; what it wrote is kept); the end of its log:"
    echo "gpu-visit: $name ended after its limit of $seconds s" >> "$out/$name.log"
    failed+=("$name")
  else
    say ">> $name: FAILED ($((SECONDS - started)) s); the end of its log:"
    failed+=("$name")
  fi
  tail -n 25 "$out/$name.log" | tee -a "$out/visit.log"
  pack
}

# bundle RESULTS [run.sh options]: the bundle's run.sh with its results in $out/RESULTS. The bundle is unpacked once per
# visit (the stages after the first reuse it: device seconds), into a folder named after the archive's modification time.
bundle() {
  local bundle_dir=${TMPDIR:-/tmp}/pamm-gpu-visit-$(stat -c %Y "$root/artifacts/gpu-bundle.tar.xz") results=$1
  shift
  if [ ! -x "$bundle_dir/pammcuda-gpu-bundle/run.sh" ]; then
    rm -rf "$bundle_dir" && mkdir -p "$bundle_dir" && tar -xJf "$root/artifacts/gpu-bundle.tar.xz" -C "$bundle_dir" || return 1
  fi
  "$bundle_dir/pammcuda-gpu-bundle/run.sh" "$out/$results" "$@"
}

# The .NET tests stop 90 s before the stage's limit, so that compute-sanitizer, which runs after them, still runs.
tests() {
  local seconds=${PAMM_VISIT_STAGE_SECONDS:-${limit_of[tests]}}
  PAMM_TEST_TIMEOUT=${PAMM_TEST_TIMEOUT:-$((seconds > 150 ? seconds - 90 : 60))} PAMM_STEPS="tests sanitizer" bundle bundle
}
# The benchmarks the #14 goals are read from, in --quick shapes (b = 16K, n = m = 768 and 2048, r = 1/512; stages at 2048;
# sampling at b = 8192 and 16384):
# the product and compression against copy bandwidth and cuBLAS, the forward-GEMM cost, both sampling paths, and each
# stage against copy bandwidth (its reduction rows decide whether the P-GEMM form of B̃ is worth building).
goal_filters="*GpuPammBenchmarks* *GpuBaselineBenchmarks* *GpuProjectionBenchmarks* *GpuSamplingBenchmarks* *Stage*"
goals() { PAMM_STEPS=bench PAMM_BENCH_FILTERS="$goal_filters" bundle goals-bench --quick; }
# The same benchmarks with 20 invocations queued a timed span: the device's own cost, the host's launch gaps hidden.
queued_goals() {
  local args="gpu --quick --queue 20 --results '$out/goals-queued/bench-reports'" filter filters
  read -r -a filters <<< "$goal_filters"
  for filter in "${filters[@]}"; do args+=" --filter '$filter'"; done
  PAMM_STEPS=bench PAMM_BENCH_ARGS="$args" bundle goals-queued --quick
}
bench() { PAMM_STEPS=bench bundle all-bench --quick; }

c_abi_test() {
  # Built by gpu-visit-prepare.sh against the carried library; its build-time rpath points elsewhere.
  local library_path=$root/artifacts/native${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} status sanitizer
  LD_LIBRARY_PATH=$library_path "$root/artifacts/native/test_pamm"
  status=$?
  # Again under memcheck: its GPU tests run the batched products with every product slot (grid.z 0-2, unequal widths),
  # which the bundle's sanitizer workload (the CLI demo, one product at a time) does not.
  sanitizer=$(command -v compute-sanitizer || ls -d /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | sort -rV | head -n 1)
  if [ -z "$sanitizer" ]; then
    echo "c: compute-sanitizer not found; the C test ran without memcheck"
  else
    LD_LIBRARY_PATH=$library_path "$sanitizer" --tool memcheck --error-exitcode 9 "$root/artifacts/native/test_pamm" > "$out/c-memcheck.log" 2>&1
    local memcheck=$?
    echo "c: memcheck of the C test: exit $memcheck ($(grep -c 'Invalid\|ERROR SUMMARY: [1-9]' "$out/c-memcheck.log") error lines; c-memcheck.log)"
    [ $memcheck -eq 0 ] || status=1
  fi
  return $status
}

# PAMM_PYTHON_TESTS="test_side_stream test_memory" narrows it to those modules of native/python/tests (default: all).
python_tests() {
  local modules module code=0
  read -r -a modules <<< "${PAMM_PYTHON_TESTS:-test*}"
  for module in "${modules[@]}"; do
    (cd "$root/native/python" && "$python" -m unittest discover -s tests -p "$module.py" -v) || code=1
  done
  return $code
}
# The training program under the host's torch, with its CUDA test (a step's peak memory, PAMM against dense).
train_tests() { (cd "$root/bench/train" && "$python" -m unittest discover -s tests -t . -v); }

peer() {
  local args=()
  if [ -n "${PAMM_PEER_ARGS:-}" ]; then eval "args=($PAMM_PEER_ARGS)"; fi
  "$python" "$root/bench/peer/peer_benchmark.py" --quick "${args[@]}" --out "$out/peer"
}

train() {
  local args
  if [ -n "${PAMM_TRAIN_ARGS:-}" ]; then
    eval "args=($PAMM_TRAIN_ARGS)"
  else
    args=(--config llama-60m --modes dense,pamm,crs,checkpoint,pamm:fused,pamm:overlap --time-budget "${PAMM_TRAIN_SECONDS:-90}" --dtype bf16
          --val-tokens 262144 --log-every 100)
  fi
  # Seconds: what one step of each mode keeps for backward at the paper's two sizes, before the minutes of training.
  # A failure here is reported by the stage, after the training ran anyway.
  local config code=0
  for config in ${PAMM_MEMORY_CONFIGS-llama-60m llama-130m}; do
    "$python" "$root/bench/train/train.py" --config "$config" --modes dense,pamm,checkpoint,pamm-all,pamm:alpha=bf16 \
      --dtype bf16 --memory-only --out "$out/train" || code=1
  done
  "$python" "$root/bench/train/train.py" "${args[@]}" --out "$out/train" || code=1
  return $code
}

if [ -n "$one_stage" ]; then
  "${function_of[$one_stage]}"
  exit
fi
for name in "${stages[@]}"; do
  stage "$name"
done
say "==================== gpu-visit: ${#stages[@]} stages, ${#failed[@]} failed${failed:+: ${failed[*]}}"
pack
[ ${#failed[@]} -eq 0 ]
