#!/usr/bin/env bash
# CI check of scripts/gpu-visit.sh's own control flow, which otherwise runs only on a lent GPU host where a mistake
# costs device time: stage results, the per-stage time limit (a hung stage is ended with its children and the next one
# runs), the visit's deadline, the archive that carries the results back (rewritten after every stage, so a visit cut
# off keeps what finished before the cut), and refused arguments. It runs a copy of the script in a scratch root whose C test
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
  # What the bundle's run.sh does with its test run: a time limit of its own (its with_timeout), which must not take
  # the run out of the reach of the stage's limit.
  hang-under-timeout)
    eval "$(sed -n '/^with_timeout() {/,/^}/p' "$PAMM_SMOKE_RUN_SH")"
    with_timeout 300 bash -c 'echo $$ > "$0/child.pid"; exec sleep 300' "$(dirname "$0")" & wait ;;
  pass-then-hang)
    if [ -e "$(dirname "$0")/passed-once" ]; then sleep 300; fi
    touch "$(dirname "$0")/passed-once"; echo "stand-in: 3 passed, 0 failed" ;;
esac
EOF
chmod +x "$scratch/artifacts/native/test_pamm"
export PAMMCUDA_CUDA_LIBRARY_PATH=none PAMM_COMMIT=smoke PAMM_SMOKE_RUN_SH=$repository/scripts/gpu-bundle/run.sh
visit() { bash "$scratch/scripts/gpu-visit.sh" "$scratch/out" "$@" > "$scratch/visit.log" 2>&1; }
fail() { echo "gpu-visit-smoke: $*" >&2; echo "--- its output:" >&2; cat "$scratch/visit.log" >&2; exit 1; }
expect_output() { grep -qF -- "$1" "$scratch/visit.log" || fail "expected '$1' in the output"; }
expect_output_matching() { grep -qE -- "$1" "$scratch/visit.log" || fail "expected a line matching '$1' in the output"; }
behave() { echo "$1" > "$scratch/artifacts/native/behaviour"; }
# archive_has ARCHIVE MEMBER TEXT: whether the member holds the text. The member is read whole before grep looks: tar
# writes as it goes, so `tar ... | grep -q` under pipefail fails whenever grep stops reading first and tar gets SIGPIPE
# (24 of 300 listings of such an archive on a loaded 2-core machine, and one CI run).
archive_has() { local text; text=$(tar -xzOf "$1" "$2") && grep -qF -- "$3" <<< "$text"; }

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
# Ended means gone or a zombie: a killed child whose parent died too waits for init to reap it, which may take a while.
running() { [ -r "/proc/$1/stat" ] && [ "$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
child=$(cat "$scratch/artifacts/native/child.pid")
for _ in $(seq 50); do running "$child" || break; sleep 0.1; done
if running "$child"; then fail "the timed-out stage's child is still running"; fi
behave hang-under-timeout
rm -f "$scratch/artifacts/native/child.pid"
if PAMM_STAGE_SECONDS="c=2" visit c; then fail "a stage past its limit left the visit's exit status 0"; fi
expect_output ">> c: TIMED OUT after 2 s"
for _ in $(seq 50); do [ -s "$scratch/artifacts/native/child.pid" ] && break; sleep 0.1; done
child=$(cat "$scratch/artifacts/native/child.pid")
for _ in $(seq 50); do running "$child" || break; sleep 0.1; done
if running "$child"; then kill "$child"; fail "a run under the bundle's own time limit outlived the stage's limit"; fi

# The visit's deadline: the first stage gets what is left of 24 s less the 10 s a stage may overrun its limit by (14 s,
# or 13 s when a loaded machine took a second to start it: one CI run), the second is not started.
behave hang
started=$SECONDS
if PAMM_VISIT_SECONDS=24 visit c c; then fail "a visit past its deadline exited 0"; fi
[ $((SECONDS - started)) -le 24 ] || fail "a visit of 24 s ran $((SECONDS - started)) s"
expect_output_matching '^>> c: TIMED OUT after 1[34] s'
expect_output ">> c: NOT RUN"
expect_output "gpu-visit: 2 stages, 2 failed: c c"

# The archive: the whole OUT, visit.log included, after every stage. A visit killed during its second stage (as the
# device tool cuts off a call at its limit) leaves the archive of the first.
behave pass
archive=$scratch/back/visit.tar.gz
mkdir -p "$scratch/back"
mkdir -p "$scratch/out/bundle/kernel-cache" "$scratch/out/bundle/tmp" "$scratch/out/bundle/logs"
echo cubin > "$scratch/out/bundle/kernel-cache/k.cubin"; echo scratch > "$scratch/out/bundle/tmp/t"; echo log > "$scratch/out/bundle/logs/l.log"
PAMM_VISIT_ARCHIVE=$archive visit c || fail "a passing stage with an archive made the visit fail"
archive_has "$archive" ./c.log "stand-in: 3 passed" || fail "the archive lacks the stage's log"
listing=$(tar -tzf "$archive") || fail "tar cannot list the archive"
grep -qxF ./bundle/logs/l.log <<< "$listing" || fail "the archive lacks a stage's logs folder"
if grep -qE 'kernel-cache|/tmp/' <<< "$listing"; then fail "the archive carries kernel caches or temporary files"; fi
archive_has "$archive" ./visit.log "gpu-visit: 1 stages, 0 failed" || fail "the archive lacks the visit's summary"
rm -rf "$scratch/out" "$archive"
behave pass-then-hang
PAMM_VISIT_ARCHIVE=$archive setsid bash "$scratch/scripts/gpu-visit.sh" "$scratch/out" c c > "$scratch/visit.log" 2>&1 &
visit_pid=$!
for _ in $(seq 100); do grep -qF "==================== c" <(tail -n 1 "$scratch/out/visit.log" 2>/dev/null) && [ -e "$archive" ] && break; sleep 0.1; done
kill -KILL -- "-$visit_pid"; wait "$visit_pid" 2>/dev/null || true
[ -e "$archive" ] || fail "a visit cut off in its second stage left no archive of the first"
archive_has "$archive" ./visit.log ">> c: passed" || fail "the archive of a visit cut off in its second stage lacks the first"
[ ! -e "$archive.partial" ] || fail "a partial archive was left beside the archive"

# The python stage runs every module of native/python/tests, or only those PAMM_PYTHON_TESTS names (a visit with
# little time runs the CUDA tests of what changed). Stand-in modules that say they ran.
mkdir -p "$scratch/native/python/tests"
for name in test_one test_two test_three; do
  printf 'import unittest\n\nclass T(unittest.TestCase):\n    def test_ran(self):\n        print("ran %s")\n' "$name" \
    > "$scratch/native/python/tests/$name.py"
done
rm -rf "$scratch/out"
visit python || fail "the python stage failed on passing stand-ins"
for name in test_one test_two test_three; do grep -qF "ran $name" "$scratch/out/python.log" || fail "the python stage did not run $name"; done
rm -rf "$scratch/out"
PAMM_PYTHON_TESTS="test_three test_one" visit python || fail "the python stage failed on two named stand-ins"
grep -qF "ran test_three" "$scratch/out/python.log" && grep -qF "ran test_one" "$scratch/out/python.log" \
  || fail "PAMM_PYTHON_TESTS='test_three test_one' did not run both"
if grep -qF "ran test_two" "$scratch/out/python.log"; then fail "PAMM_PYTHON_TESTS='test_three test_one' ran test_two"; fi
printf 'import unittest\n\nclass T(unittest.TestCase):\n    def test_fails(self):\n        self.fail("stand-in")\n' \
  > "$scratch/native/python/tests/test_two.py"
rm -rf "$scratch/out"
if PAMM_PYTHON_TESTS="test_two test_one" visit python; then fail "a failing named module left the python stage passing"; fi
grep -qF "ran test_one" "$scratch/out/python.log" || fail "a failing module stopped the modules after it"

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
for bad in "$scratch/out/inside.tar.gz" "$scratch/back/visit.zip" "$scratch/missing/visit.tar.gz"; do
  code=0; PAMM_VISIT_ARCHIVE=$bad visit c || code=$?
  [ "$code" -eq 2 ] || fail "PAMM_VISIT_ARCHIVE=$bad gave exit status $code, not 2"
  expect_output "PAMM_VISIT_ARCHIVE is '$bad'"
done
[ ! -e "$scratch/out/c.log" ] || fail "stage c ran although PAMM_VISIT_ARCHIVE was refused"
echo "gpu-visit-smoke: passed (pass, fail, time limit, deadline, archive, python modules, refused arguments)"
