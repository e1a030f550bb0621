"""
One rank of test_ddp's two-process training: `python ddp_worker.py RANK WORLD_SIZE STORE_FILE OUTPUT_FILE`.
Trains a PammQKV block and a converted TinyLlama under DistributedDataParallel on the CPU (gloo), each rank on its
own tokens, and saves the final parameters and the k of every compression it made to OUTPUT_FILE.
"""

import datetime
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import pammcuda
from tiny_models import TinyLlama

STEPS = 3
D_MODEL = 16
LEARNING_RATE = 0.1


class QKVBlock(nn.Module):
    """PammQKV and an output projection: y = out(q * sigmoid(k) + v)."""

    def __init__(self, ratio):
        super().__init__()
        self.qkv = pammcuda.PammQKV(D_MODEL, D_MODEL, ratio=ratio)
        self.out = nn.Linear(D_MODEL, D_MODEL)

    def forward(self, x):
        q, k, v = self.qkv(x)
        return self.out(q * torch.sigmoid(k) + v)


def block_batch(rank, step):
    """Rank r's batch at a step: (r + 2) x 8 tokens, so that the ranks' batches differ in content and size."""
    generator = torch.Generator().manual_seed(1000 * rank + step)
    x = torch.randn(rank + 2, 8, D_MODEL, generator=generator)
    return x, torch.randn(rank + 2, 8, D_MODEL, generator=generator)


def llama_batch(rank, step):
    return torch.randint(0, 64, (rank + 2, 9), generator=torch.Generator().manual_seed(2000 * rank + step))


def block_loss(model, batch):
    x, target = batch
    return nn.functional.mse_loss(model(x), target)


def llama_loss(model, batch):
    logits = model(batch[:, :-1])
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def initial_block(ratio):
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    return QKVBlock(ratio)


def initial_llama():
    torch.manual_seed(1)
    return TinyLlama()


def train(model, batches, loss_function, rank):
    """STEPS SGD steps under DDP; returns the final parameters and the k of each compression this rank made."""
    ks = []

    def record(module, inputs, output):
        first = output[0] if isinstance(output, tuple) else output
        ks.append(pammcuda.saved_compression(first.grad_fn).k)

    for module in model.modules():
        if isinstance(module, pammcuda.PammQKV) or pammcuda.is_converted(module):
            module.register_forward_hook(record)
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=LEARNING_RATE)
    for step in range(STEPS):
        optimizer.zero_grad()
        loss_function(ddp, batches(rank, step)).backward()
        optimizer.step()
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}, ks


def main(rank, world_size, store, output):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=60))
    try:
        block = train(initial_block(ratio=1.0), block_batch, block_loss, rank)
        llama = pammcuda.convert(initial_llama(), ratio=0.5, mlp=True)
        converted = train(llama, llama_batch, llama_loss, rank)
        torch.save({"block": block, "llama": converted}, output)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
