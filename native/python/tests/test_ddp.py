"""Two-process DistributedDataParallel training on the CPU (gloo) with PammQKV and a converted model."""

import os
import pathlib
import subprocess
import sys
import tempfile
import time
import unittest

import torch
import torch.distributed as dist

import ddp_worker
import pammcuda

WORLD_SIZE = 2
TIMEOUT_S = 120


def skip_reason():
    if not dist.is_available() or not dist.is_gloo_available():
        return "torch.distributed with gloo is not available in this PyTorch build"
    return None


def run_ranks(directory):
    """Runs the worker's ranks as subprocesses on the loopback interface; returns each rank's saved results."""
    tests = pathlib.Path(__file__).resolve().parent
    package_root = pathlib.Path(pammcuda.__file__).resolve().parent.parent
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(package_root), str(tests)]),
                       GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    store = os.path.join(directory, "store")  # a FileStore: rendezvous without a TCP port
    outputs = [os.path.join(directory, f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    processes = [subprocess.Popen([sys.executable, str(tests / "ddp_worker.py"), str(rank), str(WORLD_SIZE), store, output],
                                  env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for rank, output in enumerate(outputs)]
    deadline = time.monotonic() + TIMEOUT_S
    logs = []
    try:
        for process in processes:
            logs.append(process.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    finally:
        for process in processes:
            if process.poll() is None:  # a timeout or a failure of the other rank: never leave a rank hanging
                process.kill()
                process.wait()
    for rank, process in enumerate(processes):
        if process.returncode != 0:
            raise AssertionError(f"rank {rank} exited with {process.returncode}:\n{logs[rank] if rank < len(logs) else ''}")
    return [torch.load(output, weights_only=True) for output in outputs]  # tensors, lists and ints only


def reference_training(model, batches, loss_function):
    """What DDP must give: SGD on the mean of the ranks' exact gradients, in one process with plain nn.Linear layers."""
    parameters = list(model.parameters())
    optimizer = torch.optim.SGD(parameters, lr=ddp_worker.LEARNING_RATE)
    for step in range(ddp_worker.STEPS):
        optimizer.zero_grad()
        for rank in range(WORLD_SIZE):
            (loss_function(model, batches(rank, step)) / WORLD_SIZE).backward()
        optimizer.step()
    return dict(model.named_parameters())


class ExactQKV(torch.nn.Module):
    """PammQKV's three nn.Linear layers (same parameter names) with nn.Linear's exact gradients."""

    def __init__(self, qkv):
        super().__init__()
        self.q, self.k, self.v = qkv.q, qkv.k, qkv.v

    def forward(self, x):
        return self.q(x), self.k(x), self.v(x)


@unittest.skipIf(skip_reason() is not None, skip_reason())
class DistributedDataParallelTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with tempfile.TemporaryDirectory() as directory:
            started = time.monotonic()
            cls.ranks = run_ranks(directory)
            print(f"\ninfo: two gloo ranks trained in {time.monotonic() - started:.1f} s")

    def test_ranks_keep_identical_weights(self):
        for name in ("block", "llama"):
            first, second = (rank[name][0] for rank in self.ranks)
            self.assertEqual(first.keys(), second.keys())
            for parameter in first:
                self.assertTrue(torch.equal(first[parameter], second[parameter]), f"{name}: {parameter} differs between ranks")

    def test_each_rank_compresses_its_own_tokens(self):
        steps = ddp_worker.STEPS
        for rank, results in enumerate(self.ranks):
            tokens = (rank + 2) * 8
            # PammQKV, ratio 1: one compression of all this rank's tokens per step.
            self.assertEqual(results["block"][1], [tokens] * steps)
            # Converted TinyLlama, ratio 1/2: q, k, v (and gate, up) of a layer report their group's one compression.
            self.assertEqual(results["llama"][1], [tokens // 2] * (5 * 2 * steps))

    def test_full_ratio_training_is_ddp_of_exact_gradients(self):
        block = ddp_worker.initial_block(ratio=1.0)
        block.qkv = ExactQKV(block.qkv)
        expected = reference_training(block, ddp_worker.block_batch, ddp_worker.block_loss)
        trained = self.ranks[0]["block"][0]
        self.assertEqual(trained.keys(), expected.keys())
        for name, parameter in expected.items():
            # Float32 rounding only: the ranks sum their gradients in another order than this process.
            torch.testing.assert_close(trained[name], parameter.detach(), rtol=1e-5, atol=1e-6, msg=name)

    def test_the_converted_model_trained(self):
        initial = dict(ddp_worker.initial_llama().named_parameters())
        trained = self.ranks[0]["llama"][0]
        for name in ("layers.0.self_attn.q_proj.weight", "layers.1.mlp.up_proj.weight"):
            self.assertFalse(torch.equal(trained[name], initial[name]), f"{name} did not change")
