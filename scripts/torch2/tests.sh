#!/usr/bin/env bash
# The Python suites again under PyTorch 2.6 (Debian trixie, in the root scripts/torch2/make-root.sh builds; built here
# when missing): the PyTorch package's tests, its offline pip install, the training program's tests and the peer
# baseline's. Under torch >= 2.4 the package's tests include what Debian 12's torch 1.13 skips: opcheck of the
# torch.library ops, torch.compile(fullgraph=True) of PammLinear and PammQKV with gradients equal to eager, zero graph
# breaks, and the same under Inductor for the layers and a converted model. The training quality test is left to scripts/bench-python-tests.sh (it trains for minutes and tests the
# method, not the torch version); set PAMM_TRAIN_QUALITY=1 to run it here too.
# Needs root and artifacts/native/libpammcuda.so (scripts/native-tests.sh builds it). Prints
# "torch2-<suite>: N passed, N failed, N skipped" per suite and exits non-zero if anything failed.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
run="$repo/scripts/torch2/run.sh"

if ! bash scripts/torch2/make-root.sh; then
    echo "torch2-root: 0 passed, 1 failed (building the PyTorch 2.6 root)"
    exit 1
fi
if [ ! -e artifacts/native/libpammcuda.so ]; then
    echo "torch2-python: 0 passed, 1 failed (no artifacts/native/libpammcuda.so: run scripts/native-tests.sh first)"
    exit 1
fi
if ! /usr/bin/python3 bench/train/corpus.py; then
    echo "torch2-train: 0 passed, 1 failed (corpus preparation)"
    exit 1
fi
"$run" python3 -c 'import sys, torch; print(f"== Python {sys.version.split()[0]}, PyTorch {torch.__version__}")'

status=0
source "$repo/scripts/unittest-summary.sh"
# Runs one unittest folder inside the root and adds "<suite>: N passed, N failed, N skipped" to the summary.
suite() {
    local name=$1 folder=$2 output code=0
    shift 2
    echo "== $name ($folder)"
    output="$(cd "$folder" && PAMM_TRAIN_QUALITY=${PAMM_TRAIN_QUALITY:-0} "$run" python3 -m unittest discover "$@" -v 2>&1)" || code=$?
    echo "$output"
    unittest_summary "$name" "$output" "$code"
}
summary=()
suite torch2-python native/python -s tests
suite torch2-python-install native/python -s install_tests
suite torch2-train bench/train -s tests -t .
suite torch2-peer bench/peer -s tests -t .
printf '%s\n' "${summary[@]}"
exit $status
