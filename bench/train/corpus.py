"""
The training corpus: the Linux kernel's documentation (`Documentation/**/*.rst`, about 23 MB of English
text) from Debian's `linux-doc-6.1` package, split into train and validation by file, tokenised once and
cached as xz-compressed token files small enough to travel to a GPU host.

    python3 bench/train/corpus.py                       # artifacts/debs/'s .deb, or apt-get download; then bytes
    python3 bench/train/corpus.py --deb linux-doc.deb   # a .deb you already have
    python3 bench/train/corpus.py --tokenizer bpe       # a byte-level BPE trained on the train split
"""

import argparse
import dataclasses
import glob
import gzip
import hashlib
import json
import lzma
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch

PACKAGE = "linux-doc-6.1"
DOCUMENTATION = f"usr/share/doc/{PACKAGE}/Documentation"
# A file goes to validation when the hash of its path falls in the first VALIDATION_PERCENT of 100 buckets:
# stable whatever the order or the number of files, and no document is split between the two sets.
VALIDATION_PERCENT = 5
DOCUMENT_SEPARATOR = b"\n\n"
BPE_VOCAB_SIZE = 8192
DEFAULT_DIR = pathlib.Path(__file__).resolve().parents[2] / "artifacts" / "train-data"
# Where .ci/install-training-corpus downloads the package.
DEB_DIR = DEFAULT_DIR.parent / "debs"


def is_validation(relative_path):
    bucket = int.from_bytes(hashlib.sha256(relative_path.encode()).digest()[:8], "little") % 100
    return bucket < VALIDATION_PERCENT


def read_documents(root):
    """(relative path, text bytes) of every .rst and .rst.gz under root's Documentation, sorted by path."""
    base = pathlib.Path(root) / DOCUMENTATION
    if not base.is_dir():
        raise FileNotFoundError(f"{base} does not exist: is {root} an extracted {PACKAGE} package?")
    documents = []
    for path in sorted(base.rglob("*.rst*")):
        relative = str(path.relative_to(base))
        if relative.endswith(".rst"):
            documents.append((relative, path.read_bytes()))
        elif relative.endswith(".rst.gz"):
            documents.append((relative[:-3], gzip.decompress(path.read_bytes())))
    if not documents:
        raise FileNotFoundError(f"no .rst files under {base}")
    return documents


def download_package(directory):
    """apt-get download of the package into directory; returns the .deb's path."""
    result = subprocess.run(["apt-get", "download", PACKAGE], cwd=directory, capture_output=True, text=True)
    debs = glob.glob(os.path.join(directory, f"{PACKAGE}_*.deb"))
    if result.returncode != 0 or not debs:
        raise RuntimeError(f"'apt-get download {PACKAGE}' failed (run 'apt-get update' first, or pass --deb FILE):\n"
                           f"{result.stderr.strip()}")
    return debs[0]


def downloaded_package(directory=None):
    """The package's .deb already in `directory` (default DEB_DIR; the last by name if there are several), or None."""
    debs = sorted(glob.glob(os.path.join(directory or DEB_DIR, f"{PACKAGE}_*.deb")))
    return debs[-1] if debs else None


def extract_package(deb, directory):
    subprocess.run(["dpkg-deb", "-x", str(deb), str(directory)], check=True)
    return directory


class ByteTokenizer:
    """One token per byte: vocabulary 256, and bits per byte follow directly from the loss."""

    name = "bytes"
    vocab_size = 256
    separator = DOCUMENT_SEPARATOR

    def encode(self, text):
        return np.frombuffer(text, dtype=np.uint8)

    def token_bytes(self):
        return np.ones(256, dtype=np.int64)


class BpeTokenizer:
    """A byte-level BPE (Hugging Face `tokenizers`) trained on the training split only."""

    name = "bpe"
    separator_token = "<|endoftext|>"

    def __init__(self, train_texts, vocab_size=BPE_VOCAB_SIZE):
        try:
            import tokenizers
        except ImportError:
            raise RuntimeError("--tokenizer bpe needs the 'tokenizers' package; use the default byte tokens") from None
        self._tokenizer = tokenizers.ByteLevelBPETokenizer()
        self._tokenizer.train_from_iterator((t.decode("utf-8", "replace") for t in train_texts), vocab_size=vocab_size,
                                            special_tokens=[self.separator_token], show_progress=False)
        self.vocab_size = self._tokenizer.get_vocab_size()
        self.separator = None

    def encode_documents(self, texts):
        separator = self._tokenizer.token_to_id(self.separator_token)
        pieces = []
        for encoding in self._tokenizer.encode_batch([t.decode("utf-8", "replace") for t in texts]):
            pieces.append(np.asarray(encoding.ids, dtype=np.uint16))
            pieces.append(np.asarray([separator], dtype=np.uint16))
        return np.concatenate(pieces)

    def token_bytes(self):
        # Byte-level BPE spells every byte as one character, so a token's byte count is its string length.
        lengths = np.zeros(self.vocab_size, dtype=np.int64)
        for token, index in self._tokenizer.get_vocab().items():
            lengths[index] = 0 if token == self.separator_token else len(token)
        return lengths

    def save(self, directory):
        self._tokenizer.save(str(pathlib.Path(directory) / "tokenizer.json"))


def encode(tokenizer, texts):
    if isinstance(tokenizer, ByteTokenizer):
        return tokenizer.encode(b"".join(text + tokenizer.separator for text in texts))
    return tokenizer.encode_documents(texts)


def _write_tokens(path, tokens):
    with lzma.open(path, "wb", preset=6) as file:
        file.write(tokens.tobytes())


def prepare(out_dir=DEFAULT_DIR, deb=None, tokenizer="bytes"):
    """Builds `out_dir/<tokenizer>/` (train.tokens.xz, val.tokens.xz, meta.json) unless it is already there."""
    target = pathlib.Path(out_dir) / tokenizer
    if (target / "meta.json").exists():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        deb = deb or downloaded_package() or download_package(scratch)
        documents = read_documents(extract_package(deb, pathlib.Path(scratch) / "root"))
    train_texts = [text for path, text in documents if not is_validation(path)]
    val_texts = [text for path, text in documents if is_validation(path)]
    chosen = ByteTokenizer() if tokenizer == "bytes" else BpeTokenizer(train_texts)
    target.mkdir(parents=True, exist_ok=True)
    meta = {"package": PACKAGE, "deb": os.path.basename(str(deb)), "tokenizer": chosen.name, "vocab_size": chosen.vocab_size,
            "validation_percent": VALIDATION_PERCENT, "token_bytes": chosen.token_bytes().tolist()}
    for split, texts in (("train", train_texts), ("val", val_texts)):
        tokens = encode(chosen, texts)
        _write_tokens(target / f"{split}.tokens.xz", tokens)
        meta[split] = {"files": len(texts), "bytes": sum(len(t) for t in texts), "tokens": int(tokens.size),
                       "dtype": str(tokens.dtype), "sha256": hashlib.sha256(tokens.tobytes()).hexdigest()}
    if isinstance(chosen, BpeTokenizer):
        chosen.save(target)
    (target / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return target


@dataclasses.dataclass
class Corpus:
    """Token ids of both splits (int64 tensors), the vocabulary size, and each token's length in bytes."""

    train: torch.Tensor
    val: torch.Tensor
    vocab_size: int
    token_bytes: torch.Tensor
    meta: dict


def read_meta(directory):
    """meta.json of the prepared corpus in `directory`: vocabulary, tokenizer, and each split's files, size and hash."""
    meta_path = pathlib.Path(directory) / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path} is missing: prepare the corpus first (python3 bench/train/corpus.py)")
    return json.loads(meta_path.read_text())


def load(directory):
    """The prepared corpus in `directory` (a folder written by prepare), checked against its recorded hashes."""
    directory = pathlib.Path(directory)
    meta = read_meta(directory)
    splits = {}
    for split in ("train", "val"):
        with lzma.open(directory / f"{split}.tokens.xz", "rb") as file:
            raw = file.read()
        if hashlib.sha256(raw).hexdigest() != meta[split]["sha256"]:
            raise ValueError(f"{directory / f'{split}.tokens.xz'} does not match meta.json: prepare the corpus again")
        splits[split] = torch.from_numpy(np.frombuffer(raw, dtype=meta[split]["dtype"]).astype(np.int64))
    return Corpus(splits["train"], splits["val"], meta["vocab_size"], torch.tensor(meta["token_bytes"]), meta)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deb", help=f"a downloaded {PACKAGE} .deb (default: the one in {DEB_DIR}, else apt-get download it)")
    parser.add_argument("--tokenizer", choices=("bytes", "bpe"), default="bytes")
    parser.add_argument("--out", default=str(DEFAULT_DIR), help="cache folder (default: %(default)s)")
    args = parser.parse_args(argv)
    target = prepare(args.out, args.deb, args.tokenizer)
    meta = json.loads((target / "meta.json").read_text())
    for split in ("train", "val"):
        info = meta[split]
        print(f"{split:5s} {info['files']:5d} files, {info['bytes']:,} bytes, {info['tokens']:,} tokens")
    print(f"corpus in {target}")


if __name__ == "__main__":
    sys.exit(main())
