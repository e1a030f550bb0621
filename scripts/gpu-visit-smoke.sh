#!/usr/bin/env bash
# CI check of scripts/gpu-visit.sh's own control flow, which otherwise runs only on a lent GPU host where a mistake
# costs device time: stage results, the per-stage time limit (a hung stage is ended with its children and the next one
# runs), the visit's deadline, and refused arguments. It runs a copy of the script in a scratch root whose C test
# program (the `c` stage) is a stand-in shell script told what to do through a file: pass, fail or hang.
set -euo pipefail
repository=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/scripts" "$scratch/artifacts/native"
cp "$repository/scripts/gpu-visit.sh" "$scratch/scripts/"
cat > "$scratch/artifacts/native/test_pamm" <<'EOF'
#!/usr/bin/env bash
behaviour=$(cat "$(dirname "$0")/behaviour")
case $behaviour in
  pass) echo "stand-in: 3 passed, 0 failed" ;;
  fail) echo "stand-in: 2 passed, 1 failed"; exit 3 ;;
  hang) sleep 300 & echo $! > "$(dirname "$0")/child.pid"; wait ;;
esac
EOF
chmod +x "$scratch/artifacts/native/test_pamm"
export PAMMCUDA_CUDA_LIBRARY_PATH=none PAMM_COMMIT=smoke
visit() { bash "$scratch/scripts/gpu-visit.sh" "$scratch/out" "$@" > "$scratch/visit.log" 2>&1; }
fail() { echo "gpu-visit-smoke: $*" >&2; echo "--- its output:" >&2; cat "$scratch/visit.log" >&2; exit 1; }
expect_output() { grep -qF -- "$1" "$scratch/visit.log" || fail "expected '$1' in the output"; }
behave() { echo "$1" > "$scratch/artifacts/native/behaviour"; }

behave pass
visit c || fail "a passing stage made the visit fail"
expect_output ">> c: passed"
expect_output "gpu-visit: 1 stages, 0 failed"
grep -qF "stand-in: 3 passed" "$scratch/out/c.log" || fail "the stage's output is not in out/c.log"

behave fail
if visit c; then fail "a failing stage left the visit's exit status 0"; fi
expect_output ">> c: FAILED"

behave hang
started=$SECONDS
if PAMM_STAGE_SECONDS="c=2" visit c; then fail "a stage past its limit left the visit's exit status 0"; fi
[ $((SECONDS - started)) -lt 20 ] || fail "a stage limited to 2 s ran $((SECONDS - started)) s"
expect_output ">> c: TIMED OUT after 2 s"
grep -qF "ended after its limit of 2 s" "$scratch/out/c.log" || fail "the timed-out stage's log does not say so"
sleep 1
if kill -0 "$(cat "$scratch/artifacts/native/child.pid")" 2>/dev/null; then fail "the timed-out stage's child is still running"; fi

# The visit's deadline: the first stage gets what is left of 12 s, the second is not started.
started=$SECONDS
if PAMM_VISIT_SECONDS=12 visit c c; then fail "a visit past its deadline exited 0"; fi
[ $((SECONDS - started)) -lt 30 ] || fail "a visit of 12 s ran $((SECONDS - started)) s"
expect_output ">> c: TIMED OUT after 12 s"
expect_output ">> c: NOT RUN"
expect_output "gpu-visit: 2 stages, 2 failed: c c"

# Refused before any stage runs.
rm -rf "$scratch/out"
code=0; visit c nonsense || code=$?
[ "$code" -eq 2 ] || fail "an unknown stage gave exit status $code, not 2"
expect_output "unknown stage 'nonsense'"
[ ! -e "$scratch/out/c.log" ] || fail "stage c ran although a later stage's name was unknown"
code=0; PAMM_STAGE_SECONDS="c=soon" visit c || code=$?
[ "$code" -eq 2 ] || fail "PAMM_STAGE_SECONDS=c=soon gave exit status $code, not 2"
expect_output "PAMM_STAGE_SECONDS has 'c=soon'"
code=0; PAMM_VISIT_SECONDS=ten visit c || code=$?
[ "$code" -eq 2 ] || fail "PAMM_VISIT_SECONDS=ten gave exit status $code, not 2"
expect_output "PAMM_VISIT_SECONDS is 'ten'"
echo "gpu-visit-smoke: passed (pass, fail, time limit, deadline, refused arguments)"
