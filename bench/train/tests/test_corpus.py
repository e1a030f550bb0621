"""The corpus: a split by file that does not move, token files that round-trip, batches that every mode shares."""

import gzip
import importlib.util
import lzma
import pathlib
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
import torch

import corpus
import training

DOCUMENTS = {"admin-guide/a.rst": b"Alpha text.\n", "core-api/b.rst": b"Bravo \xc3\xa9 text.\n", "z/c12.rst": b"Charlie.\n"}  # z/c12.rst hashes into validation


def build_package(folder):
    """A .deb laid out like linux-doc-6.1: Documentation/**.rst, one of them gzip-compressed as Debian does."""
    root = pathlib.Path(folder) / "package"
    base = root / corpus.DOCUMENTATION
    for index, (path, text) in enumerate(sorted(DOCUMENTS.items())):
        target = base / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if index == 1:
            target.with_name(target.name + ".gz").write_bytes(gzip.compress(text))
        else:
            target.write_bytes(text)
    (base / "ignored.txt").write_bytes(b"not documentation")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(f"Package: {corpus.PACKAGE}\nVersion: 0-test\nArchitecture: all\n"
                                             "Maintainer: test <test@example.org>\nDescription: test\n")
    deb = pathlib.Path(folder) / "linux-doc-6.1_0-test_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    return deb


@unittest.skipUnless(shutil.which("dpkg-deb"), "dpkg-deb is not installed")
class PreparedCorpusTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)

    def test_round_trip_of_every_document_by_split(self):
        target = corpus.prepare(pathlib.Path(self.folder) / "out", build_package(self.folder))
        data = corpus.load(target)
        expected = {"train": b"", "val": b""}
        for path in sorted(DOCUMENTS):
            split = "val" if corpus.is_validation(path) else "train"
            expected[split] += DOCUMENTS[path] + corpus.DOCUMENT_SEPARATOR
        self.assertEqual(bytes(data.train.to(torch.uint8).tolist()), expected["train"])
        self.assertEqual(bytes(data.val.to(torch.uint8).tolist()), expected["val"])
        self.assertEqual(data.meta["train"]["files"] + data.meta["val"]["files"], len(DOCUMENTS))
        self.assertEqual(data.vocab_size, 256)
        self.assertEqual(data.meta["val"]["files"], 1)

    @unittest.skipUnless(importlib.util.find_spec("tokenizers"), "the tokenizers package is not installed (the GPU host has it)")
    def test_bpe_tokens_decode_to_the_documents_and_count_their_bytes(self):
        target = corpus.prepare(pathlib.Path(self.folder) / "out", build_package(self.folder), tokenizer="bpe")
        data = corpus.load(target)
        import tokenizers
        tokenizer = tokenizers.Tokenizer.from_file(str(target / "tokenizer.json"))
        train_text = tokenizer.decode(data.train.tolist(), skip_special_tokens=True).encode()
        expected = b"".join(DOCUMENTS[p] for p in sorted(DOCUMENTS) if not corpus.is_validation(p))
        self.assertEqual(train_text, expected)
        self.assertEqual(int(data.token_bytes[data.train].sum()), len(expected))

    def test_a_damaged_token_file_is_refused(self):
        target = corpus.prepare(pathlib.Path(self.folder) / "out", build_package(self.folder))
        with lzma.open(target / "train.tokens.xz", "wb") as file:
            file.write(b"something else")
        with self.assertRaisesRegex(ValueError, "does not match meta.json"):
            corpus.load(target)

    def test_the_downloaded_package_is_used_without_apt(self):
        debs = pathlib.Path(self.folder) / "debs"
        debs.mkdir()
        self.assertIsNone(corpus.downloaded_package(debs))
        deb = build_package(self.folder)
        shutil.copy(deb, debs / f"{corpus.PACKAGE}_6.1.1-1_all.deb")
        shutil.copy(deb, debs / f"{corpus.PACKAGE}_6.1.2-1_all.deb")
        self.assertEqual(corpus.downloaded_package(debs), str(debs / f"{corpus.PACKAGE}_6.1.2-1_all.deb"))
        original, corpus.DEB_DIR = corpus.DEB_DIR, debs
        try:
            target = corpus.prepare(pathlib.Path(self.folder) / "out")  # no --deb: apt-get download would fail here
        finally:
            corpus.DEB_DIR = original
        self.assertEqual(corpus.read_meta(target)["deb"], f"{corpus.PACKAGE}_6.1.2-1_all.deb")

    def test_missing_corpus_says_how_to_prepare_it(self):
        with self.assertRaisesRegex(FileNotFoundError, "corpus.py"):
            corpus.load(pathlib.Path(self.folder) / "nothing")


class SplitAndBatchesTest(unittest.TestCase):
    def test_validation_split_is_by_path_and_about_five_percent(self):
        paths = [f"subsystem{i // 10}/file{i}.rst" for i in range(4000)]
        share = sum(corpus.is_validation(p) for p in paths) / len(paths)
        self.assertTrue(0.04 < share < 0.06, share)
        self.assertEqual([corpus.is_validation(p) for p in paths], [corpus.is_validation(p) for p in paths])

    def test_batches_are_the_same_for_one_seed_and_shifted_by_one(self):
        tokens = torch.arange(1000)
        first, second = training.Batches(tokens, 4, 16, seed=7), training.Batches(tokens, 4, 16, seed=7)
        torch.manual_seed(0)
        a = first.next()
        torch.manual_seed(1)  # what else draws from the default generator does not change the batches
        b = second.next()
        torch.testing.assert_close(a[0], b[0])
        torch.testing.assert_close(a[1], a[0] + 1)

    def test_validation_windows_do_not_overlap(self):
        windows = training.validation_windows(torch.arange(100), context=8, max_tokens=40)
        self.assertEqual(windows.shape, (5, 9))
        torch.testing.assert_close(windows[:, 0], torch.arange(0, 40, 8))

    def test_bits_per_byte_of_byte_tokens_is_the_loss_in_bits(self):
        data = corpus.ByteTokenizer().token_bytes()
        self.assertTrue(np.all(data == 1))


if __name__ == "__main__":
    unittest.main()
