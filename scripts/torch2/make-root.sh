#!/usr/bin/env bash
# Builds a Debian 13 (trixie) root file system with its PyTorch 2.6 under artifacts/torch2-root-trixie, or with
# TORCH2_SUITE=sid one of Debian unstable with its newest PyTorch under artifacts/torch2-root-sid (scripts/torch2/
# suite.sh), so that the Python suites also run under PyTorch >= 2.4 on this Debian 12 machine, whose own
# python3-torch is 1.13. What only a newer torch exercises (torch.library.register_fake, opcheck, torch.compile with
# fullgraph=True and with Inductor, the scaled_dot_product_attention path of the training program) otherwise first
# runs on a lent GPU host.
# Nothing is installed on this machine: apt resolves and downloads the suite's packages with a private configuration
# (artifacts/torch2-apt-<suite>), and dpkg-deb unpacks them. Needs network access to deb.debian.org, about 400 MB of
# downloads and 2 GB of disk; takes about a minute (DEBIAN_MIRROR names another Debian mirror). Run the suites
# with scripts/torch2/tests.sh and anything else with scripts/torch2/run.sh.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=suite.sh
source "$repo/scripts/torch2/suite.sh"
# Python and PyTorch with what the suites import: numpy, matplotlib (the loss plot), pip, setuptools and wheel
# (the offline install test), a shell for the subprocesses that the tests start, dpkg-deb and the tar it runs (the
# corpus tests build a small linux-doc package), and what Inductor, torch.compile's default backend, builds its CPU
# code with (g++, PyTorch's and Python's headers).
packages=(python3 python3-torch python3-numpy python3-matplotlib python3-pip python3-setuptools python3-wheel
          libopenblas0-pthread dash bash coreutils dpkg tar g++ libtorch-dev libpython3-dev "${suite_packages[@]}")

if [ -x "$root/usr/bin/python3" ] && [ -e "$root/.complete" ]; then
    echo "$label-root: $root is ready"
    exit 0
fi
if [ -e "$root" ]; then
    # A root that was unpacked halfway is rebuilt; a mount left inside it would make the removal reach the host.
    if grep -q " $root/" /proc/self/mounts; then
        echo "$label-root: something is mounted under $root; unmount it first" >&2
        exit 1
    fi
    rm -rf "$root"
fi

# shellcheck source=../debian-apt.sh
source "$repo/scripts/debian-apt.sh"
echo "$label-root: resolving and downloading ${packages[*]} from Debian $suite"
private_apt "$apt_dir" "$suite" main || exit 3
# With private_apt's empty dpkg status, apt downloads the whole dependency closure, libc6 included: the root is
# self-contained. Exit status 3 says that Debian could not deliver them (no network, or unstable in the middle of a
# transition), which tests.sh tells apart from a root that fails to build.
if ! apt-get install --download-only -y -qq "${packages[@]}" >/dev/null; then
    echo "$label-root: apt could not resolve and download the packages from Debian $suite" >&2
    exit 3
fi

mkdir -p "$root"
for deb in "$apt_dir"/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done
# The packages are not needed once unpacked (a root is rebuilt only from a fresh download); removing them halves what
# a root leaves on disk, which matters on a CI machine that builds two.
rm -f "$apt_dir"/archives/*.deb
# What dpkg's maintainer scripts would have done: the merged-/usr links, the BLAS alternative, /bin/sh, the
# dynamic linker's cache, a writable /tmp, a user name (PyTorch's compile cache asks for one) and the CA bundle that
# pip loads when it starts (update-ca-certificates would write it; this machine's is the same Mozilla set).
for link in bin lib sbin; do [ -e "$root/$link" ] || ln -s "usr/$link" "$root/$link"; done
mkdir -p "$root/usr/lib64" "$root/tmp" "$root/proc" "$root/dev"
ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
[ -e "$root/lib64" ] || ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
ln -sf dash "$root/usr/bin/sh"
blas="$root/usr/lib/x86_64-linux-gnu"
ln -sf openblas-pthread/libblas.so.3 "$blas/libblas.so.3"
ln -sf openblas-pthread/liblapack.so.3 "$blas/liblapack.so.3"
printf '%s\n' /usr/lib/x86_64-linux-gnu/openblas-pthread /usr/lib/x86_64-linux-gnu/openmpi/lib \
    > "$root/etc/ld.so.conf.d/torch2-root.conf"
echo "include /etc/ld.so.conf.d/*.conf" > "$root/etc/ld.so.conf"
ldconfig -r "$root"
echo "root:x:0:0:root:/tmp:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
touch "$root/.complete"
echo "$label-root: $root ready ($(du -sh "$root" | cut -f1))"
