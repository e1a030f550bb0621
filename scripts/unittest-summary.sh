# Sourced by the test scripts that run Python unittest suites (native-tests.sh, bench-python-tests.sh).
# unittest_summary SUITE OUTPUT EXIT_STATUS appends "<suite>: N passed, N failed, N skipped" to the array `summary`
# from a verbose unittest run's output, and sets `status=1` when the run failed or ran no test.
unittest_summary() {
    local suite="$1" output="$2" exit_status="$3" ran failures errors skipped bad passed
    ran="$(grep -oE '^Ran [0-9]+ test' <<<"$output" | grep -oE '[0-9]+')"
    failures="$(grep -oE 'failures=[0-9]+' <<<"$output" | grep -oE '[0-9]+')"
    errors="$(grep -oE 'errors=[0-9]+' <<<"$output" | grep -oE '[0-9]+')"
    skipped="$(grep -oE 'skipped=[0-9]+' <<<"$output" | grep -oE '[0-9]+')"
    bad=$(( ${failures:-0} + ${errors:-0} ))
    # An error in setUpClass counts as a failure without a test of its own having run: never report negative passes.
    passed=$(( ${ran:-0} - bad - ${skipped:-0} )); (( passed >= 0 )) || passed=0
    summary+=("$suite: $passed passed, $bad failed, ${skipped:-0} skipped")
    [[ $exit_status -eq 0 && ${ran:-0} -gt 0 ]] || status=1
}
