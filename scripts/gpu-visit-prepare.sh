#!/usr/bin/env bash
# Builds what scripts/gpu-visit.sh needs on a GPU host, which has no .NET and no network: the GPU bundle, the
# NativeAOT libpammcuda.so and the prepared training corpus. Then, with the device tool, two calls (one call may
# run 10 minutes, and the visit has 15 in all, start-up included):
#   1. scripts/gpu-visit.sh "$OUT" tests python                       timeout ~300 s
#   2. PAMM_TRAIN_SECONDS=75 scripts/gpu-visit.sh "$OUT" train         timeout ~540 s
#   carry: artifacts/gpu-bundle.tar.xz artifacts/native/libpammcuda.so artifacts/native/test_pamm artifacts/train-data/bytes
#   and PAMM_COMMIT=<this commit> on both, since the working tree travels without .git.
# Rehearse it here first (no GPU: GPU tests skip, training falls back to a short CPU run):
#   PAMM_TRAIN_ARGS="--config tiny --steps 10 --modes dense,pamm --val-tokens 4096" scripts/gpu-visit.sh /tmp/visit
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/gpu-bundle/build.sh
bash scripts/native-tests.sh   # libpammcuda.so and the C test program test_pamm, both in artifacts/native
python3 bench/train/corpus.py ${PAMM_CORPUS_DEB:+--deb "$PAMM_CORPUS_DEB"}
du -ch artifacts/gpu-bundle.tar.xz artifacts/native/libpammcuda.so artifacts/native/test_pamm artifacts/train-data/bytes | tail -n 1
