#!/usr/bin/env pwsh
# The README's commands for PowerShell 7 users. Extra arguments go to the command, e.g.
#   ./build.ps1 run --rows 4096 --k 16      ./build.ps1 test -- --filter "FullyQualifiedName~Cli"
# Without PowerShell: `dotnet tool restore` installs the repository's (.config/dotnet-tools.json), then
#   dotnet pwsh ./build.ps1 <target>
# pack writes PammCuda.<version>.nupkg (+ .snupkg) and the pamm tool's PammCuda.Cli.<version>.nupkg
# to artifacts/packages/. CI runs the build, run and pack targets (scripts/build-ps1-smoke.sh).
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'run', 'bench', 'pack', 'gpu-bundle', 'native-tests')]
    [string] $Target = 'build',

    [Parameter(Position = 1, ValueFromRemainingArguments = $true)]
    [string[]] $Arguments = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

switch ($Target) {
    'build' { dotnet build -c Release @Arguments }
    'test'  { dotnet test @Arguments }
    'run'   { dotnet run -c Release --project src/PammCuda.Cli -- demo @Arguments }
    'bench' { dotnet run -c Release --project bench/PammCuda.Bench -- @Arguments }
    'pack'  {
        dotnet pack src/PammCuda -c Release -o artifacts/packages @Arguments
        if ($LASTEXITCODE -eq 0) { dotnet pack src/PammCuda.Cli -c Release -o artifacts/packages @Arguments }
    }
    # Linux-only artifacts: the same POSIX scripts CI runs.
    'gpu-bundle'   { bash scripts/gpu-bundle/build.sh @Arguments }
    'native-tests' { bash scripts/native-tests.sh @Arguments }
}
exit $LASTEXITCODE
