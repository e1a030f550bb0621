#!/usr/bin/env bash
# Runs a command under Debian trixie's Python 3.13 and PyTorch 2.6, or with TORCH2_SUITE=sid under Debian unstable's
# newest Python and PyTorch (the roots scripts/torch2/make-root.sh builds):
#   scripts/torch2/run.sh python3 -c 'import torch; print(torch.__version__)'
#   TORCH2_SUITE=sid scripts/torch2/run.sh python3 bench/train/train.py --config tiny --steps 20 --dtype bf16
# The repository appears at its own path inside the root and the command starts in the current directory, so paths
# mean the same inside and out. The mounts live in a private mount namespace (unshare) and vanish with the command;
# nothing stays mounted under artifacts/. Needs root, for unshare and chroot. The environment is reset to a fixed
# PATH plus the caller's PAMM*, OMP_NUM_THREADS, OPENBLAS*, TORCH* and CI variables; PAMMCUDA_LIB defaults to
# artifacts/native/libpammcuda.so (scripts/native-tests.sh builds it), and PAMM_COMMIT to the checkout's HEAD (the
# root has no git, and results record the commit they come from).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=suite.sh
source "$repo/scripts/torch2/suite.sh"
if [ "$#" -eq 0 ]; then echo "usage: scripts/torch2/run.sh COMMAND [ARGUMENT...]" >&2; exit 2; fi
if [ ! -e "$root/.complete" ]; then echo "torch2: no root at $root; run TORCH2_SUITE=$suite scripts/torch2/make-root.sh first" >&2; exit 2; fi
if [ "$(id -u)" != 0 ]; then echo "torch2: needs root (unshare --mount and chroot)" >&2; exit 2; fi
case "$PWD/" in
    "$repo"/*) ;;
    *) echo "torch2: run it from inside the repository ($repo); only the repository is visible in the root" >&2; exit 2 ;;
esac

environment=(PATH=/usr/bin:/bin HOME=/tmp USER=root LOGNAME=root LANG=C.UTF-8
             PAMMCUDA_LIB="${PAMMCUDA_LIB:-$repo/artifacts/native/libpammcuda.so}"
             PAMM_COMMIT="${PAMM_COMMIT:-$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}")
for name in $(compgen -e); do
    case "$name" in
        PAMMCUDA_LIB|PAMM_COMMIT) ;;
        PAMM*|OMP_NUM_THREADS|OPENBLAS*|TORCH*|CI) environment+=("$name=${!name}") ;;
    esac
done

# Inside the new namespace: /proc, /dev (with /dev/shm, which multiprocessing and gloo use) and the repository.
inside='set -e
root=$1 repo=$2; shift 2
mount --bind /proc "$root/proc"
mount --rbind /dev "$root/dev"
mkdir -p "$root$repo"
mount --bind "$repo" "$root$repo"
exec chroot "$root" /usr/bin/env -i "$@"'
exec unshare --mount --propagation private bash -c "$inside" torch2 "$root" "$repo" \
    "${environment[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$PWD" "$@"
