#!/usr/bin/env pwsh
# The README's commands for PowerShell 7 users. Extra arguments go to the command, e.g.
#   ./build.ps1 run --rows 4096 --k 16      ./build.ps1 test -- --filter "FullyQualifiedName~Cli"
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
    'pack'  { dotnet pack src/PammCuda -c Release @Arguments }
    # Linux-only artifacts: the same POSIX scripts CI runs.
    'gpu-bundle'   { bash scripts/gpu-bundle/build.sh @Arguments }
    'native-tests' { bash scripts/native-tests.sh @Arguments }
}
exit $LASTEXITCODE
