#!/usr/bin/env bash
# The training program's tests (bench/train/tests), including the quality test that trains the tiny config with
# dense, PAMM and Uniform-CRS and checks PAMM's validation loss against dense's (PAMM_TRAIN_QUALITY=1 turns it on).
# Needs libpammcuda.so (scripts/native-tests.sh builds it), Debian's python3-torch and the corpus, which this
# script prepares from artifacts/debs/linux-doc-6.1_*.deb (.ci/install-training-corpus) or by apt-get download.
# Prints "train: N passed, N failed, N skipped" and exits non-zero if anything failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
cd "$root"

if [ ! -e artifacts/native/libpammcuda.so ]; then
    dotnet publish native/PammCuda.Native -c Release -r linux-x64 -o artifacts/native -nologo -v:q || { echo "train: 0 passed, 1 failed (native build)"; exit 1; }
fi
deb=$(ls artifacts/debs/linux-doc-6.1_*.deb 2>/dev/null | head -n 1)
if ! "$python" bench/train/corpus.py ${deb:+--deb "$deb"}; then
    echo "train: 0 passed, 1 failed (corpus preparation)"
    exit 1
fi

output="$(cd bench/train && PAMM_TRAIN_QUALITY=${PAMM_TRAIN_QUALITY:-1} "$python" -m unittest discover -s tests -t . -v 2>&1)"
status=$?
echo "$output"
ran="$(grep -oE '^Ran [0-9]+ test' <<<"$output" | grep -oE '[0-9]+')"
failures="$(grep -oE 'failures=[0-9]+' <<<"$output" | grep -oE '[0-9]+')"
errors="$(grep -oE 'errors=[0-9]+' <<<"$output" | grep -oE '[0-9]+')"
skipped="$(grep -oE 'skipped=[0-9]+' <<<"$output" | grep -oE '[0-9]+')"
bad=$(( ${failures:-0} + ${errors:-0} ))
echo "train: $(( ${ran:-0} - bad - ${skipped:-0} )) passed, $bad failed, ${skipped:-0} skipped"
[[ $status -eq 0 && ${ran:-0} -gt 0 ]]
