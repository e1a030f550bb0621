#!/usr/bin/env bash
# The Python benchmarks' tests: the training program (bench/train/tests, with the quality test that trains the tiny
# config with dense, PAMM and Uniform-CRS and bounds PAMM's validation loss against dense's; PAMM_TRAIN_QUALITY=1,
# the default here, turns it on) and the PyTorch peer baseline (bench/peer/tests).
# Needs libpammcuda.so (scripts/native-tests.sh builds it), Debian's python3-torch and the corpus, which this
# script prepares (bench/train/corpus.py: from artifacts/debs/, where .ci/install-training-corpus puts the .deb, or
# by apt-get download).
# Prints "train: N passed, N failed, N skipped" and "peer: ..." and exits non-zero if anything failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
cd "$root"

if [ ! -e artifacts/native/libpammcuda.so ]; then
    dotnet publish native/PammCuda.Native -c Release -r linux-x64 -o artifacts/native -nologo -v:q || { echo "train: 0 passed, 1 failed (native build)"; exit 1; }
fi
if ! "$python" bench/train/corpus.py; then
    echo "train: 0 passed, 1 failed (corpus preparation)"
    exit 1
fi

status=0
source "$root/scripts/unittest-summary.sh"
# Runs one unittest folder and adds "<suite>: N passed, N failed, N skipped" to the summary.
suite() {
    local name=$1 folder=$2 output code=0
    output="$(cd "$folder" && PAMM_TRAIN_QUALITY=${PAMM_TRAIN_QUALITY:-1} "$python" -m unittest discover -s tests -t . -v 2>&1)" || code=$?
    echo "$output"
    unittest_summary "$name" "$output" "$code"
}
summary=()
suite train bench/train
suite peer bench/peer
printf '%s\n' "${summary[@]}"
exit $status
