#!/usr/bin/env bash
# The Python suites again under PyTorch 2.6 (Debian trixie), or with TORCH2_SUITE=sid under Debian unstable's newest
# PyTorch, in the root scripts/torch2/make-root.sh builds (built here when missing): the PyTorch package's tests, its
# offline pip install, the training program's tests and the peer baseline's (under sid only the training program's
# corpus and model tests: see below). Under torch >= 2.4 the package's tests
# include what Debian 12's torch 1.13 skips: opcheck of the torch.library ops, torch.compile(fullgraph=True) of
# PammLinear and PammQKV with gradients equal to eager, zero graph breaks, and the same under Inductor for the layers
# and a converted model. The training quality test is left to scripts/bench-python-tests.sh (it trains for minutes
# and tests the method, not the torch version); set PAMM_TRAIN_QUALITY=1 to run it here too.
# Needs root and artifacts/native/libpammcuda.so (scripts/native-tests.sh builds it). Prints
# "torch2-<suite>: N passed, N failed, N skipped" per suite (torch2-sid-<suite> under sid) and exits non-zero if
# anything failed. Debian unstable is sometimes uninstallable for a day in the middle of a transition; when apt cannot
# deliver sid's packages the sid run reports itself skipped with the reason, while trixie's must always build.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
run="$repo/scripts/torch2/run.sh"
# shellcheck source=suite.sh
source "$repo/scripts/torch2/suite.sh"

bash scripts/torch2/make-root.sh
case "$?:$suite" in
    0:*) ;;
    3:sid) echo "$label-root: 0 passed, 0 failed, 1 skipped (apt could not deliver Debian sid's packages today)"
           exit 0 ;;
    *) echo "$label-root: 0 passed, 1 failed (building the Debian $suite root)"
       exit 1 ;;
esac
if [ ! -e artifacts/native/libpammcuda.so ]; then
    echo "$label-python: 0 passed, 1 failed (no artifacts/native/libpammcuda.so: run scripts/native-tests.sh first)"
    exit 1
fi
if ! /usr/bin/python3 bench/train/corpus.py; then
    echo "$label-train: 0 passed, 1 failed (corpus preparation)"
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
    # --durations: which tests a slow CI run spent its time in (both roots' Pythons have it, from 3.12 on).
    output="$(cd "$folder" && PAMM_TRAIN_QUALITY=${PAMM_TRAIN_QUALITY:-0} "$run" python3 -m unittest "$@" -v --durations 8 2>&1)" || code=$?
    echo "$output"
    unittest_summary "$name" "$output" "$code"
}
summary=()
suite "$label-python" native/python discover -s tests
suite "$label-python-install" native/python discover -s install_tests
if [ "$suite" = trixie ]; then
    suite "$label-train" bench/train discover -s tests -t .
    suite "$label-peer" bench/peer discover -s tests -t .
else
    # The training program's and the peer baseline's suites run under Debian 12's torch 1.13 and trixie's 2.6 (and on
    # the GPU host's 2.11); here only what sid adds to them: the BPE corpus (tokenizers is packaged in unstable only)
    # and the model's modes on the newest torch. Their end-to-end command tests, two minutes of CI, do not run again.
    suite "$label-train" bench/train tests.test_corpus tests.test_model
fi
printf '%s\n' "${summary[@]}"
exit $status
