"""What the training program sets up in its process (freed memory kept for the next step on the CPU), and what a CPU
result records of the machine (the OpenBLAS kernels torch computes with)."""

import os
import platform
import subprocess
import sys
import unittest

import torch

import checkout

# A fresh interpreter runs 20 "steps", each allocating, filling and freeing blocks the sizes of a large step's
# activations (two of them above glibc's largest mmap threshold, 32 MiB), and prints the page faults of the last 5.
# glibc's aligned blocks do not fit the holes the previous step left at once, so the heap grows for some steps
# before the freed memory serves every step.
STEPS = """
import resource, sys
sys.path.insert(0, {folder!r})
import checkout, torch
if {keep}:
    assert checkout.keep_freed_memory()
MiB = 1024 * 1024 // 4
for step in range(20):
    if step == 15:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [torch.empty(n) for n in (40 * MiB, 4 * MiB, 12 * MiB, 40 * MiB, 2 * MiB)]
    for block in blocks:
        block.fill_(1.0)
    del blocks, block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_of_late_steps(keep):
    folder = str(checkout.REPOSITORY / "bench" / "train")
    result = subprocess.run([sys.executable, "-c", STEPS.format(folder=folder, keep=keep)],
                            capture_output=True, text=True, check=True)
    return int(result.stdout)


@unittest.skipUnless(sys.platform.startswith("linux") and checkout.keep_freed_memory(), "mallopt is glibc's")
class KeepFreedMemoryTest(unittest.TestCase):
    def test_later_steps_reuse_the_freed_memory_without_page_faults(self):
        # A 40 MiB block is 10,240 pages of 4 KiB or 20 transparent huge pages: five steps that fault the two in
        # again take at least 200 faults; five that reuse the heap take none but the interpreter's own few.
        kept, returned = faults_of_late_steps(True), faults_of_late_steps(False)
        self.assertGreaterEqual(returned, 5 * 2 * 20, "without it glibc should hand the blocks back and fault them in")
        self.assertLess(kept, 32, f"{kept} page faults in five steps whose memory the heap kept")


# A fresh interpreter: OpenBLAS reads OPENBLAS_CORETYPE when it loads, with torch.
MACHINE = """
import sys
sys.path.insert(0, {folder!r})
import checkout, torch
print(checkout.openblas_core())
print(checkout.machine(torch.device("cpu")))
"""


def openblas_core_and_machine(coretype):
    folder = str(checkout.REPOSITORY / "bench" / "train")
    environment = dict(os.environ, OPENBLAS_CORETYPE=coretype, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", MACHINE.format(folder=folder)], env=environment,
                            capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


@unittest.skipUnless(platform.machine() == "x86_64" and checkout.openblas_core() is not None,
                     "torch computes with OpenBLAS on x86-64 here (Debian's torch) and not elsewhere")
class OpenBlasCoreTest(unittest.TestCase):
    def test_names_the_kernels_openblas_was_told_to_use(self):
        # Prescott's are OpenBLAS's generic x86-64 kernels (SSE3): every x86-64 CPU this runs on has them.
        core, machine = openblas_core_and_machine("Prescott")
        self.assertEqual(core, "Prescott")
        self.assertRegex(machine, r", 1 thread, OpenBLAS Prescott kernels$")

    def test_names_the_kernels_of_this_process(self):
        self.assertIn(f"OpenBLAS {checkout.openblas_core()} kernels", checkout.machine(torch.device("cpu")))


if __name__ == "__main__":
    unittest.main()
