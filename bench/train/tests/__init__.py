"""Tests of the training program: python3 -m unittest discover -s bench/train/tests -t bench/train"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import checkout  # noqa: E402

checkout.use_checkout()
