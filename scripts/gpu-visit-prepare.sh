#!/usr/bin/env bash
# Builds what scripts/gpu-visit.sh needs on a GPU host, which has no .NET and no network: the GPU bundle, the
# NativeAOT libpammcuda.so with the C test program, and the prepared training corpus. Then, with the device tool,
# two calls (one call may run 10 minutes, and a visit has 15 in all, start-up included, ~30 s on the first visit). The
# stage times below are the first visit's (H200, 2026-12-04, bench/results/2026-12-04-gpu-h200.md): the C test 5 s, the
# bundle's suite and compute-sanitizer 77 s, the goals benchmarks 57 s (queued about as long), the training program's
# tests ~2 min, the PyTorch package's suite 227 s, the peer baseline 11 s, training ~45 s a mode at 30 s of training.
# The plan after that visit (everything the kernels, the engine and the PyTorch package gained since is untimed on a GPU:
# kernels/README.md says what, section by section: pamm_expand, the reduction's word loads and batched Q/K/V products,
# the sampling's last blocks, the dense assignment Pᵀ, refined generators, the compression beside the GEMM on a side stream
# of high priority, PyTorch's overlap_compression):
#   1. PAMM_COMMIT=<commit> PAMM_VISIT_ARCHIVE=$OUT/visit-1.tar.gz PAMM_VISIT_SECONDS=460 \
#        PAMM_PYTHON_TESTS="test_side_stream test_memory" PAMM_STAGE_SECONDS="python=120" \
#        scripts/gpu-visit.sh /tmp/visit tests c goals queued train-tests python
#      timeout 480 s: the new kernels under the suite and compute-sanitizer first (if they fail, fix here and spend the
#      rest on a second try of this call), the C test (batched products, under memcheck too), what the kernels cost (goals,
#      and queued: the device's own time; the QkvGemmBesideCompress rows say whether overlap_compression can become the
#      default), the training program's tests (the step-peak test that failed on the first visit, with the leak fixed
#      since), and the PyTorch modules of the side stream and of memory accounting (the whole suite took 227 s).
#   2. At once after call 1, while the machine is still warm (it is given back after 30 s idle, and a fresh one costs
#      1-2 minutes of the budget): #11's quality question, dense against pamm and pamm with refined generators at
#      llama-60m for equal steps (k = 128 at 64K tokens a step), which also gives the modes' whole-run peak without the old leak:
#        PAMM_COMMIT=<commit> PAMM_VISIT_ARCHIVE=$OUT/visit-2.tar.gz PAMM_VISIT_SECONDS=<timeout - 20> PAMM_MEMORY_CONFIGS= \
#          PAMM_TRAIN_ARGS='--config llama-60m --modes dense,pamm,pamm:refine --time-budget <(timeout - 100) / 3.6> --dtype bf16 --val-tokens 262144 --log-every 100 --eval-every 200' \
#          scripts/gpu-visit.sh /tmp/visit-2 train
#      --eval-every 200: the gap at every 200 steps of the one run as well (a validation pass is four forward passes of a step's size).
#      timeout: budget_left_s (from status) less 30 s. The time budget is dense's seconds; the PAMM modes get the same
#      steps, so (timeout - 100) / 3.6 leaves each room to be 1.3x slower plus start-up, timing and validation; each
#      mode's results are written before the next starts. pamm:overlap is left out of this run: it computes what pamm
#      does, so it would only add tokens/s, and by the first visit's stage times the eight layers' compressions are about 1 %
#      of a step (~0.1 ms each against an 80 ms step), within the spread of tokens/s between modes; the benchmark rows of
#      call 1 measure what the overlap hides directly.
#   Left for the visit after: the six-mode table at 30 s a mode (train), peer, the rest of python, and llama-60m at
#   --lr 3e-3 (dense,pamm): on the CPU the tiny model at 65,536 tokens a step lost +0.3 % at 3e-3 (one seed) and +0.6 %
#   and +1.8 % at llama-60m's 1e-3 (two seeds; bench/results/2026-12-02-train-tiny-cpu-k-sweep.md), so the rate may be
#   part of llama-60m's +4.8 %.
#   PAMM_VISIT_SECONDS makes the script end every stage, and itself, before the device call is cut off; each stage also
#   has a limit of its own (PAMM_STAGE_SECONDS), so a hang costs that stage only.
#   The device tool brings back at most 8 files from $OUT, so everything comes back in the one archive (rewritten after
#   each stage); unpack it here with tar -xzf into a scratch folder and record from there into bench/results/.
#   carry: artifacts/gpu-bundle.tar.xz artifacts/native/libpammcuda.so artifacts/native/test_pamm artifacts/train-data/bytes
#   (the working tree travels without .git, hence PAMM_COMMIT)
# Rehearse it here first (no GPU: GPU tests skip, the benchmarks say "no GPU", training falls back to a short CPU run):
#   PAMM_REQUIRE_CUDA=0 PAMM_PYTHON=/usr/bin/python3 PAMM_MEMORY_CONFIGS=tiny PAMM_TRAIN_ARGS="--config tiny --steps 10 --modes dense,pamm --val-tokens 4096" \
#     PAMM_PEER_ARGS="--tokens 4096 --widths 256" scripts/gpu-visit.sh /tmp/visit c train tests train-tests goals queued peer python
#   (run it without OMP_NUM_THREADS, as a GPU host does: CI sets it to 1 for its lanes, and a test that depended on it
#   passed in CI and failed in the 2026-12-05 rehearsal)
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
