# Sourced by the scripts that run `dotnet test` (.ci/run, scripts/nvrtc12-tests.sh).
# dotnet_test_counts LOG prints "succeeded failed skipped" from the Microsoft.Testing.Platform summary ("total:",
# "failed:", "succeeded:", "skipped:" after "Test run summary") in a saved `dotnet test` output, or nothing when the
# log has no summary (the build or the test host failed).
dotnet_test_counts() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    /Test run summary/ { found = 1; ok = 0; bad = 0; skip = 0 }
    found && $1 == "succeeded:" { ok = $2 }
    found && $1 == "failed:" { bad = $2 }
    found && $1 == "skipped:" { skip = $2 }
    END { if (found) print ok, bad, skip }'
}
