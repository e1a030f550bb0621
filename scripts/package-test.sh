#!/usr/bin/env bash
# Tests the NuGet packages as users get them. Packs PammCuda and the pamm tool (PammCuda.Cli) into a
# temporary local feed and checks the library package's metadata, symbols, Source Link and deterministic
# build. Then, with an empty NuGet cache, copies tests/PackageConsumer outside the repository, adds the
# package with `dotnet add package` (a PackageReference, nothing of the solution), builds and runs it: the
# CPU backend in float, Half and BFloat16, the engine on the emulated device (needs g++) and
# CudaRuntime.CheckAvailability(). Last, installs the tool from the feed into a tool path and runs
# `pamm --help` and a small `pamm demo`.
# Usage: scripts/package-test.sh   (about 2 minutes on 2 cores; build output in artifacts/package-test/;
#        KEEP=1 keeps the temporary folder with the feed, the consumer and the installed tool)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
work=$(mktemp -d "${TMPDIR:-/tmp}/pammcuda-package-test.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# Inside the repository, so that ContinuousIntegrationBuild maps the generated sources under obj/ too.
build=$repo/artifacts/package-test
feed=$work/feed

fail() { echo "package-test: $*" >&2; exit 1; }
step() { echo "package-test: $*"; }
command -v unzip > /dev/null || fail "unzip is needed to look inside the packages (apt-get install unzip)"

version=$(dotnet msbuild src/PammCuda/PammCuda.csproj -getProperty:PackageVersion)
commit=$(git rev-parse HEAD)
[ -n "$version" ] || fail "could not read the package version of src/PammCuda"

# --- Pack (a release build: deterministic, paths mapped, as CI=true gives it) ---
rm -rf "$build"
pack=(dotnet pack -c Release -o "$feed" --artifacts-path "$build" -p:ContinuousIntegrationBuild=true --nologo -v quiet)
step "packing PammCuda $version and PammCuda.Cli $version"
"${pack[@]}" src/PammCuda || fail "packing src/PammCuda failed"
"${pack[@]}" src/PammCuda.Cli || fail "packing src/PammCuda.Cli failed"
library=$feed/PammCuda.$version.nupkg symbols=$feed/PammCuda.$version.snupkg tool=$feed/PammCuda.Cli.$version.nupkg
for file in "$library" "$symbols" "$tool"; do [ -f "$file" ] || fail "pack wrote no ${file##*/}"; done

# --- The library package: files and metadata ---
mkdir -p "$work/library" "$work/symbols"
unzip -q "$library" -d "$work/library"
unzip -q "$symbols" -d "$work/symbols"
for file in lib/net10.0/PammCuda.dll lib/net10.0/PammCuda.xml README.md build/PammCuda.targets buildTransitive/PammCuda.targets; do
  [ -f "$work/library/$file" ] || fail "${library##*/} lacks $file"
done
nuspec=$work/library/PammCuda.nuspec
expect_nuspec() { grep -qE "$1" "$nuspec" || fail "PammCuda.nuspec lacks $2 (no match for: $1)"; }
expect_nuspec "<id>PammCuda</id>" "the package id"
expect_nuspec "<version>${version//./\\.}</version>" "the version $version"
expect_nuspec "<description>[^<]{40,}" "a description"
expect_nuspec "<tags>[^<]*cuda[^<]*</tags>" "tags"
expect_nuspec '<license type="expression">MIT</license>' "the MIT license expression"
expect_nuspec "<projectUrl>https://" "a project URL"
expect_nuspec "<readme>README.md</readme>" "the README"
expect_nuspec "<releaseNotes>[^<]+" "release notes (CHANGELOG.md's section for $version)"
expect_nuspec "<repository type=\"git\" url=\"https://[^\"]+\"[^>]* commit=\"$commit\"" "the git repository and commit $commit"
expect_nuspec '<dependency id="System.Numerics.Tensors"' "its dependency System.Numerics.Tensors"

# --- Symbols, Source Link, no build paths, a deterministic build ---
pdb=$work/symbols/lib/net10.0/PammCuda.pdb
[ -f "$pdb" ] || fail "${symbols##*/} lacks lib/net10.0/PammCuda.pdb"
repository_url=$(grep -oE '<repository [^>]*url="[^"]+"' "$nuspec" | sed -E 's/.*url="([^"]+)"/\1/')
raw_url=${repository_url/https:\/\/github.com\//https:\/\/raw.githubusercontent.com\/}/$commit/*
grep -qF "\"$raw_url\"" "$pdb" || fail "PammCuda.pdb has no Source Link to $raw_url"
for file in "$work/library/lib/net10.0/PammCuda.dll" "$pdb"; do
  ! grep -qF "$repo" "$file" || fail "${file##*/} contains the build path $repo (not a ContinuousIntegrationBuild?)"
done
step "rebuilding PammCuda to check that the build is deterministic"
dotnet build src/PammCuda -c Release --artifacts-path "$build" --no-incremental -p:ContinuousIntegrationBuild=true --nologo -v quiet
cmp -s "$build/bin/PammCuda/release/PammCuda.dll" "$work/library/lib/net10.0/PammCuda.dll" \
  || fail "rebuilding PammCuda gave a different PammCuda.dll: the build is not deterministic"
step "${library##*/}: metadata, docs, symbols with Source Link and a deterministic build ok"

# --- A user's project, outside the repository, with an empty package cache ---
# The README's commands: a nuget.config as `dotnet new` makes it (the public feed), the local feed added to it.
export NUGET_PACKAGES=$work/packages PAMMCUDA_CACHE_DIR=$work/kernel-cache
(cd "$work" && dotnet new nugetconfig > /dev/null)
dotnet nuget add source "$feed" --name pammcuda-local --configfile "$work/nuget.config" > /dev/null
consumer=$work/consumer
mkdir -p "$consumer"
cp tests/PackageConsumer/PackageConsumer.csproj tests/PackageConsumer/Program.cs "$consumer/"
step "adding the package to tests/PackageConsumer and building it"
(cd "$consumer" && dotnet add package PammCuda --version "$version") || fail "dotnet add package PammCuda --version $version failed"
grep -q "<PackageReference Include=\"PammCuda\" Version=\"$version\"" "$consumer/PackageConsumer.csproj" \
  || fail "dotnet add package added no PackageReference to PammCuda $version"
source_of() { sed -nE 's/^ *"source": "(.*)",?$/\1/p' "$NUGET_PACKAGES/$1/$version/.nupkg.metadata" 2>/dev/null; }
[ "$(source_of pammcuda)" = "$feed" ] || fail "PammCuda $version was restored from '$(source_of pammcuda)', not from the feed just packed"
(cd "$consumer" && dotnet build -c Release --nologo -v quiet) > "$work/build.txt" \
  || { cat "$work/build.txt"; fail "tests/PackageConsumer does not build against the package (a public API missing from it, or only visible inside the solution?)"; }
! grep -q PAMM001 "$work/build.txt" || fail "a build without NativeAOT warned PAMM001"
# The package's build/PammCuda.targets: NativeAOT at its default instruction set gets warning PAMM001 (FMA in
# software); with x86-64-v3 set it does not.
# Each build's output goes to a file before grep reads it: `build | grep -q` under pipefail fails when grep stops at
# its first match and the build, still writing, gets SIGPIPE.
aot_build() {
  (cd "$consumer" && dotnet build -c Release --nologo -v quiet -p:PublishAot=true "$@") > "$work/aot-build.txt" 2>&1 \
    || { cat "$work/aot-build.txt"; fail "a NativeAOT build of tests/PackageConsumer ($*) failed"; }
}
aot_build
grep -q "warning PAMM001" "$work/aot-build.txt" || fail "a NativeAOT build at the default instruction set did not warn PAMM001"
aot_build -p:IlcInstructionSet=x86-64-v3
! grep -q PAMM001 "$work/aot-build.txt" || fail "a NativeAOT build for x86-64-v3 warned PAMM001"
step "NativeAOT builds: warning PAMM001 at the default instruction set, none for x86-64-v3"

docs=$NUGET_PACKAGES/pammcuda/$version/lib/net10.0/PammCuda.xml
[ -f "$docs" ] || fail "the restored package has no XML docs ($docs)"
for member in 'T:PammCuda.Cpu.CpuPamm' 'M:PammCuda.Engine.PammEngine.#ctor' 'M:PammCuda.Cuda.CudaRuntime.CheckAvailability'; do
  grep -q "<member name=\"$member" "$docs" || fail "PammCuda.xml does not document $member"
done

# Every kernel source and the emulation runtime must be embedded in PammCuda.dll under these names.
resources=()
for file in kernels/*.cu kernels/*.cuh; do resources+=("kernels/${file##*/}"); done
for file in src/PammCuda/Emulation/Native/*; do resources+=("emulation/${file##*/}"); done
step "running it"
(cd "$consumer" && dotnet bin/Release/net10.0/PackageConsumer.dll "${resources[@]}") || fail "tests/PackageConsumer failed (above)"

# --- The pamm tool, installed from the feed ---
step "installing PammCuda.Cli $version into a tool path"
(cd "$work" && dotnet tool install PammCuda.Cli --version "$version" --tool-path "$work/tools") \
  || fail "dotnet tool install PammCuda.Cli --version $version failed"
pamm=$work/tools/pamm
[ -x "$pamm" ] || fail "the tool install put no pamm command in $work/tools"
installed=$work/tools/.store/pammcuda.cli/$version/pammcuda.cli/$version/tools/net10.0/any/pamm.dll
unzip -p "$tool" tools/net10.0/any/pamm.dll | cmp -s - "$installed" \
  || fail "the installed pamm.dll ($installed) is not the one just packed"
"$pamm" --help > "$work/help.txt" || fail "pamm --help exited with $?"
grep -q "pamm demo" "$work/help.txt" && grep -q "pamm run" "$work/help.txt" \
  || fail "pamm --help does not list the demo and run commands: $(head -n 3 "$work/help.txt")"
"$pamm" demo --rows 2048 --cols 64 --grad-cols 64 | tee "$work/demo.txt" || fail "pamm demo exited with $?"
for line in backend k memory error time; do
  grep -q "^$line " "$work/demo.txt" || fail "pamm demo printed no '$line' line"
done
echo "package-test: ok (PammCuda $version, PammCuda.Cli $version)"
