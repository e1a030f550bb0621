#!/usr/bin/env bash
# Keeps build.ps1 from drifting away from the README: installs PowerShell the way its users get it
# (`dotnet tool restore`, .config/dotnet-tools.json), then runs its build, run (a small demo) and pack
# targets and checks what each produced, and that a failing command's exit code comes through.
# Usage: scripts/build-ps1-smoke.sh   (packages in artifacts/packages/)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
out=$(mktemp -d "${TMPDIR:-/tmp}/pammcuda-build-ps1.XXXXXX")
trap 'rm -rf "$out"' EXIT

fail() { echo "build-ps1-smoke: $*" >&2; exit 1; }
build_ps1() { dotnet pwsh -NoLogo -NoProfile -NonInteractive -File ./build.ps1 "$@"; }

dotnet tool restore
echo "build-ps1-smoke: $(dotnet pwsh -NoProfile -Command '"PowerShell $($PSVersionTable.PSVersion)"')"
version=$(dotnet msbuild src/PammCuda/PammCuda.csproj -getProperty:PackageVersion)

start=$SECONDS
build_ps1 build --nologo --verbosity quiet || fail "./build.ps1 build exited with $?"
[ -f src/PammCuda.Cli/bin/Release/net10.0/pamm.dll ] || fail "./build.ps1 build built no Release pamm.dll"
echo "build-ps1-smoke: build took $((SECONDS - start)) s"

build_ps1 run --rows 2048 --cols 64 --grad-cols 64 | tee "$out/run.txt" || fail "./build.ps1 run exited with $?"
grep -q '^error  ' "$out/run.txt" || fail "./build.ps1 run printed no demo report"
status=0
build_ps1 run --rows 0 2> "$out/run-error.txt" || status=$?
[ "$status" -eq 2 ] || fail "./build.ps1 run --rows 0 exited with $status, not the usage error 2 of pamm: $(cat "$out/run-error.txt")"

rm -rf artifacts/packages
build_ps1 pack --nologo --verbosity quiet || fail "./build.ps1 pack exited with $?"
for package in "PammCuda.$version.nupkg" "PammCuda.$version.snupkg" "PammCuda.Cli.$version.nupkg"; do
  [ -f "artifacts/packages/$package" ] || fail "./build.ps1 pack wrote no artifacts/packages/$package"
done
echo "build-ps1-smoke: ok (build, run, pack; packages in artifacts/packages/)"
