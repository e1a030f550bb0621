#!/usr/bin/env bash
# Builds what scripts/gpu-visit.sh needs on a GPU host, which has no .NET and no network: the GPU bundle, the
# NativeAOT libpammcuda.so with the C test program, and the prepared training corpus. Then, with the device tool,
# two calls (one call may run 10 minutes, and a visit has 15 in all, start-up included, ~30 s on the first visit; the
# times below are that visit's, bench/results/2026-12-04-gpu-h200.md):
#   1. PAMM_COMMIT=<commit> PAMM_VISIT_ARCHIVE=$OUT/visit-1.tar.gz PAMM_VISIT_SECONDS=460 PAMM_TRAIN_SECONDS=30 \
#        scripts/gpu-visit.sh /tmp/visit c train tests train-tests
#      timeout 480 s. On the first visit (H200, 2026-12-04) the C test took 5 s, the training stage 145 s for the
#      --memory-only tables and three of its five modes (each mode ~45 s with start-up and validation at 30 s of
#      training; five ≈ 4 min), the bundle's suite and compute-sanitizer 77 s, the training program's tests ~2 min (its
#      compiled-training test is the long one). So: C, training (#11's table, now with the whole-run peak), the suite
#      (kernels changed since: pamm_sample_generators.cu), the training program's tests.
#   2. PAMM_COMMIT=<commit> PAMM_VISIT_ARCHIVE=$OUT/visit-2.tar.gz PAMM_VISIT_SECONDS=<timeout - 20> \
#        scripts/gpu-visit.sh /tmp/visit-2 goals queued peer python
#      Make it at once after call 1, while the machine is still warm (it is given back after 30 s idle, and a fresh one
#      costs 1-2 minutes of the budget before the command starts). timeout: budget_left_s (from status) less 30 s when
#      warm, less 150 s when not (a call still running when the budget ends returns nothing). The goals benchmarks took
#      57 s, the peer baseline 11 s; queued about as long as goals; the PyTorch package's suite (227 s, passed in full on
#      the first visit and unchanged since) last, with what is left.
#   PAMM_VISIT_SECONDS makes the script end every stage, and itself, before the device call is cut off; each stage also
#   has a limit of its own (PAMM_STAGE_SECONDS), so a hang costs that stage only.
#   The device tool brings back at most 8 files from $OUT, so everything comes back in the one archive (rewritten after
#   each stage); unpack it here with tar -xzf into a scratch folder and record from there into bench/results/.
#   If the first call shows a broken build or failing GPU tests, fix here and spend the rest on a second try of it.
#   A later visit, once calls 1 and 2 have run and their results are in bench/results/: #11's quality question, dense
#   against pamm at llama-60m for equal steps (k = 128 at 64K tokens a step), in one call of timeout 580 s:
#     PAMM_COMMIT=<commit> PAMM_VISIT_ARCHIVE=$OUT/visit-q.tar.gz PAMM_VISIT_SECONDS=560 PAMM_MEMORY_CONFIGS= \
#       PAMM_TRAIN_ARGS='--config llama-60m --modes dense,pamm --time-budget 180 --dtype bf16 --val-tokens 262144 --log-every 100' \
#       scripts/gpu-visit.sh /tmp/visit-q train
#   180 s of dense sets the steps, so pamm has room to be 1.5x slower (with a minute for start-up, timing and validation)
#   before the call ends; dense's results are written before pamm starts.
#   carry: artifacts/gpu-bundle.tar.xz artifacts/native/libpammcuda.so artifacts/native/test_pamm artifacts/train-data/bytes
#   (the working tree travels without .git, hence PAMM_COMMIT)
# Rehearse it here first (no GPU: GPU tests skip, the benchmarks say "no GPU", training falls back to a short CPU run):
#   PAMM_REQUIRE_CUDA=0 PAMM_PYTHON=/usr/bin/python3 PAMM_MEMORY_CONFIGS=tiny PAMM_TRAIN_ARGS="--config tiny --steps 10 --modes dense,pamm --val-tokens 4096" \
#     scripts/gpu-visit.sh /tmp/visit c train tests train-tests goals queued peer python
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/gpu-bundle/build.sh
dotnet publish native/PammCuda.Native -c Release -r linux-x64 -o artifacts/native -nologo -v:q
gcc -std=c11 -O1 -Wall -Wextra -Werror -I native/include native/tests/test_pamm.c -o artifacts/native/test_pamm \
    -L artifacts/native -l:libpammcuda.so -lm -ldl
# Debian's python3 (numpy, torch), as the other scripts here use it; PAMM_PYTHON (or PYTHON) overrides it.
"${PAMM_PYTHON:-${PYTHON:-/usr/bin/python3}}" bench/train/corpus.py ${PAMM_CORPUS_DEB:+--deb "$PAMM_CORPUS_DEB"}
# What travels: the working tree (tracked and untracked files git does not ignore) and the carried paths, 64 MiB at most.
carried=(artifacts/gpu-bundle.tar.xz artifacts/native/libpammcuda.so artifacts/native/test_pamm artifacts/train-data/bytes)
tree_bytes=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -n 1 | cut -f 1)
carried_bytes=$(du -cb "${carried[@]}" | tail -n 1 | cut -f 1)
total=$((tree_bytes + carried_bytes))
echo "travels: $((tree_bytes / 1024)) KiB of tree + $((carried_bytes / 1024)) KiB carried = $((total / 1024 / 1024)) MiB of 64"
[ "$total" -le $((64 * 1024 * 1024)) ] || { echo "gpu-visit-prepare: $total bytes would travel, more than 64 MiB" >&2; exit 1; }
