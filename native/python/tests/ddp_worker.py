"""
One rank of test_ddp's two-process training: `python ddp_worker.py RANK WORLD_SIZE STORE_FILE OUTPUT_FILE`.
Trains a PammQKV block and a converted TinyLlama under DistributedDataParallel on the CPU (gloo), each rank on its
own tokens, and saves the final parameters and the k of every compression it made to OUTPUT_FILE.
"""

import sys

import torch
from torch.nn.parallel import DistributedDataParallel

import pammcuda
from distributed_training import (block_batch, block_loss, gloo_process_group, initial_block, initial_llama,
                                  llama_batch, llama_loss, record_compressions, sgd_steps)


def train(model, batches, loss_function, rank):
    """SGD steps under DDP; returns the final parameters and the k of each compression this rank made."""
    ks = record_compressions(model)
    sgd_steps(model, DistributedDataParallel(model), batches, loss_function, rank)
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}, ks


def main(rank, world_size, store, output):
    with gloo_process_group(rank, world_size, store):
        block = train(initial_block(ratio=1.0), block_batch, block_loss, rank)
        llama = pammcuda.convert(initial_llama(), ratio=0.5, mlp=True)
        converted = train(llama, llama_batch, llama_loss, rank)
        torch.save({"block": block, "llama": converted}, output)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
