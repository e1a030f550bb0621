# Sourced by make-root.sh, run.sh and tests.sh: which Debian release's PyTorch 2 the root carries, and where it lives.
# TORCH2_SUITE=trixie (the default: Debian 13, Python 3.13, PyTorch 2.6, the oldest torch with everything the package
# uses on 2.x) or TORCH2_SUITE=sid (Debian unstable: the newest PyTorch Debian has, newer than the GPU host's 2.11), so
# that the package is tested on both sides of the version the GPU host runs. Sets suite, root, apt_dir, label (the
# prefix of the summary lines) and suite_packages: what only that release has. Debian packages Hugging Face's
# transformers and tokenizers in unstable only (5.12 and 0.23 on 2026-12-03; the GPU host has 5.17 and 0.23), so the
# tests of convert on LlamaForCausalLM and GPT2LMHeadModel and of the BPE corpus run on the CPU there.
suite=${TORCH2_SUITE:-trixie}
case "$suite" in
    trixie|sid) ;;
    *) echo "torch2: TORCH2_SUITE must be trixie or sid, not '$suite'" >&2; exit 2 ;;
esac
root="$repo/artifacts/torch2-root-$suite"
apt_dir="$repo/artifacts/torch2-apt-$suite"
if [ "$suite" = trixie ]; then
    label=torch2
    suite_packages=()
else
    label="torch2-$suite"
    suite_packages=(python3-transformers python3-tokenizers)
fi
