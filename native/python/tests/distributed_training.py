"""
What the two-process tests on gloo share (test_ddp.py with ddp_worker.py, test_fsdp.py with fsdp_worker.py): the
models, batches and losses every rank trains on, a worker's process group from start to end, the launcher that runs the
ranks as subprocesses, and the single-process reference training the ranks must agree with. Not a test module itself.
"""

import contextlib
import datetime
import faulthandler
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import traceback

import torch
import torch.distributed as dist
from torch import nn

import pammcuda
from tiny_models import TinyLlama

WORLD_SIZE = 2
TIMEOUT_S = 120
STEPS = 3
D_MODEL = 16
LEARNING_RATE = 0.1


def gloo_skip_reason():
    if not dist.is_available() or not dist.is_gloo_available():
        return "torch.distributed with gloo is not available in this PyTorch build"
    return None


def dtensor_skip_reason():
    """Why tensor parallelism cannot run here (gloo, and DTensor's public API of torch >= 2.5), or None."""
    if gloo_skip_reason() is not None:
        return gloo_skip_reason()
    try:
        from torch.distributed.tensor import DTensor  # noqa: F401
        from torch.distributed.tensor.parallel import ColwiseParallel  # noqa: F401
    except ImportError as error:
        return f"PyTorch {torch.__version__} has no public DTensor: {error}"
    return None


def fsdp_skip_reason():
    """Why FSDP2 cannot run on the CPU here, or None."""
    if gloo_skip_reason() is not None:
        return gloo_skip_reason()
    # FSDP2 waits on streams of the parameters' device; CPU streams learnt record_event in PyTorch 2.7. Checked before
    # importing FSDP, whose import fails under Debian 12's torch 1.13 on Python 3.11.
    if not hasattr(torch.cpu, "Stream") or not hasattr(torch.cpu.Stream, "record_event"):
        return f"FSDP2 (fully_shard) runs on the CPU from PyTorch 2.7 (CPU streams without record_event in {torch.__version__})"
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError as error:
        return f"PyTorch {torch.__version__} has no torch.distributed.fsdp.fully_shard: {error}"
    return None


class QKVBlock(nn.Module):
    """PammQKV and an output projection: y = out(q * sigmoid(k) + v)."""

    def __init__(self, ratio):
        super().__init__()
        self.qkv = pammcuda.PammQKV(D_MODEL, D_MODEL, ratio=ratio)
        self.out = nn.Linear(D_MODEL, D_MODEL)

    def forward(self, x):
        q, k, v = self.qkv(x)
        return self.out(q * torch.sigmoid(k) + v)


class ExactQKV(nn.Module):
    """PammQKV's three nn.Linear layers (same parameter names) with nn.Linear's exact gradients."""

    def __init__(self, qkv):
        super().__init__()
        self.q, self.k, self.v = qkv.q, qkv.k, qkv.v

    def forward(self, x):
        return self.q(x), self.k(x), self.v(x)


def block_batch(rank, step):
    """Rank r's batch at a step: (r + 2) x 8 tokens, so that the ranks' batches differ in content and size."""
    generator = torch.Generator().manual_seed(1000 * rank + step)
    x = torch.randn(rank + 2, 8, D_MODEL, generator=generator)
    return x, torch.randn(rank + 2, 8, D_MODEL, generator=generator)


def llama_batch(rank, step):
    return torch.randint(0, 64, (rank + 2, 9), generator=torch.Generator().manual_seed(2000 * rank + step))


def block_loss(model, batch):
    x, target = batch
    return nn.functional.mse_loss(model(x).float(), target)  # float(): a no-op but under mixed precision


def llama_loss(model, batch):
    logits = model(batch[:, :-1]).float()
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def initial_block(ratio):
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    return QKVBlock(ratio)


def initial_llama():
    torch.manual_seed(1)
    return TinyLlama()


def record_compressions(model):
    """Appends the k of every compression a PammQKV or converted projection of the model makes to the list returned."""
    ks = []

    def record(module, inputs, output):
        first = output[0] if isinstance(output, tuple) else output
        ks.append(pammcuda.saved_compression(first.grad_fn).k)

    for module in model.modules():
        if isinstance(module, pammcuda.PammQKV) or pammcuda.is_converted(module):
            module.register_forward_hook(record)
    return ks


def sgd_steps(model, wrapped, batches, loss_function, rank):
    """STEPS SGD steps of the wrapped (distributed) model on this rank's batches."""
    optimizer = torch.optim.SGD(wrapped.parameters(), lr=LEARNING_RATE)
    for step in range(STEPS):
        optimizer.zero_grad()
        loss_function(wrapped, batches(rank, step)).backward()
        optimizer.step()


# Before PyTorch 2.8 (pytorch/pytorch#154976) a gloo process group is destroyed holding the GIL and joins its worker
# threads, while a worker may still be freeing the tensors of the collective it just finished; when one of those
# tensors has a Python object, the worker waits for the GIL and both wait for ever. tp_worker's DTensor collectives
# hung so in 4 of 9 runs under Debian trixie's PyTorch 2.6. There a rank whose results are saved ends without the
# destructor; the kernel closes its sockets.
DESTRUCTOR_HOLDS_GIL = torch.__version__ < "2.8"


@contextlib.contextmanager
def gloo_process_group(rank, world_size, store):
    """
    The ranks' gloo process group for the with block; a rank still running shortly before run_ranks gives up prints its
    stacks. A rank whose block raised prints the error and ends with status 1; ranks that finished leave the group
    together, after a barrier.
    """
    faulthandler.dump_traceback_later(TIMEOUT_S - 15)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=60))
    try:
        yield
    except BaseException:
        traceback.print_exc()
        _end_process(1)
    dist.barrier()  # no rank tears down while another still waits on a collective of it
    if DESTRUCTOR_HOLDS_GIL:
        _end_process(0)
    dist.destroy_process_group()


def _end_process(status):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run_ranks(worker, what, world_size=WORLD_SIZE):
    """
    Runs `python worker RANK WORLD_SIZE STORE OUTPUT` for every rank as subprocesses on the loopback interface, in a
    temporary directory; prints how long `what` took and returns each rank's saved results.
    """
    with tempfile.TemporaryDirectory() as directory:
        started = time.monotonic()
        results = _run_ranks_in(worker, directory, world_size)
        print(f"\ninfo: {what} in {time.monotonic() - started:.1f} s")
        return results


def _run_ranks_in(worker, directory, world_size):
    tests = pathlib.Path(__file__).resolve().parent
    package_root = pathlib.Path(pammcuda.__file__).resolve().parent.parent
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(package_root), str(tests)]),
                       GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    store = os.path.join(directory, "store")  # a FileStore: rendezvous without a TCP port
    outputs = [os.path.join(directory, f"rank{rank}.pt") for rank in range(world_size)]
    processes = [subprocess.Popen([sys.executable, str(tests / worker), str(rank), str(world_size), store, output],
                                  env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for rank, output in enumerate(outputs)]
    deadline = time.monotonic() + TIMEOUT_S
    logs, timed_out = [], False
    try:
        for process in processes:
            logs.append(process.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        for process in processes:
            if process.poll() is None:  # a timeout or a failure of the other rank: never leave a rank hanging
                process.kill()
                process.wait()
    if timed_out:  # what every rank printed, hung or not (communicate again loses nothing of it)
        logs += [process.communicate()[0] for process in processes[len(logs):]]
        raise AssertionError(f"the ranks of {worker} did not finish in {TIMEOUT_S} s:\n"
                             + "\n".join(f"--- rank {rank}:\n{log}" for rank, log in enumerate(logs)))
    for rank, process in enumerate(processes):
        if process.returncode != 0:
            raise AssertionError(f"rank {rank} exited with {process.returncode}:\n{logs[rank]}")
    return [torch.load(output, weights_only=True) for output in outputs]  # tensors, lists and ints only


def reference_training(model, batches, loss_function):
    """What data parallelism must give: SGD on the mean of the ranks' gradients, in one process."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    for step in range(STEPS):
        optimizer.zero_grad()
        for rank in range(WORLD_SIZE):
            (loss_function(model, batches(rank, step)) / WORLD_SIZE).backward()
        optimizer.step()
    return {name: parameter.detach() for name, parameter in model.named_parameters()}


def exact_block_reference():
    """The QKVBlock at ratio 1 with nn.Linear's exact Q/K/V gradients, trained by reference_training."""
    block = initial_block(ratio=1.0)
    block.qkv = ExactQKV(block.qkv)
    return reference_training(block, block_batch, block_loss)


def assert_ranks_agree(test, ranks, runs):
    """Every rank ended each of `runs` (keys of the ranks' results, each (parameters, ...)) with rank 0's parameters."""
    for run in runs:
        first = ranks[0][run][0]
        for rank, results in enumerate(ranks[1:], 1):
            parameters = results[run][0]
            test.assertEqual(parameters.keys(), first.keys())
            for name in first:
                test.assertTrue(torch.equal(parameters[name], first[name]), f"{run}: {name} differs between ranks 0 and {rank}")


def assert_trained_as(test, trained, expected):
    """The parameters a distributed run ended with are `expected`'s up to float32 rounding: the ranks reduce their
    gradients in another order than one process sums them."""
    test.assertEqual(trained.keys(), expected.keys())
    for name, parameter in expected.items():
        torch.testing.assert_close(trained[name], parameter, rtol=1e-5, atol=1e-6, msg=name)
