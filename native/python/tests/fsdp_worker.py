"""
One rank of test_fsdp's two-process training: `python fsdp_worker.py RANK WORLD_SIZE STORE_FILE OUTPUT_FILE`.
Trains under FSDP2 (`fully_shard`) on the CPU (gloo), each rank on its own tokens: a PammQKV block in float32, the
same block and one with nn.Linear's exact Q/K/V under bfloat16 autocast, and a converted TinyLlama sharded layer by
layer. Saves each model's final full parameters and the k of every compression the rank made.
"""

import sys

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

import pammcuda
from distributed_training import (ExactQKV, block_batch, block_loss, gloo_process_group, initial_block, initial_llama,
                                  llama_batch, llama_loss, record_compressions, sgd_steps)


def under_autocast(loss_function):
    """
    The loss computed under bfloat16 autocast. Mixed precision through FSDP's own MixedPrecisionPolicy is not testable
    here: gloo all-gathers no 16-bit tensors ("Invalid scalar type"), so the shards stay float32 and autocast lowers
    the compute, as it does for many users on GPUs too.
    """
    def loss(model, batch):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return loss_function(model, batch)
    return loss


def train(model, units, batches, loss_function, rank, mesh):
    """
    Shards each of `units` and then the model (FSDP2's usual wrapping: one all-gather per unit), trains it and returns
    the full parameters (gathered from every rank's shard) and the k of each compression this rank made.
    """
    ks = record_compressions(model)
    for unit in units:
        fully_shard(unit, mesh=mesh)
    fully_shard(model, mesh=mesh)
    sgd_steps(model, model, batches, loss_function, rank)
    return {name: parameter.full_tensor().detach().clone() for name, parameter in model.named_parameters()}, ks


def main(rank, world_size, store, output):
    with gloo_process_group(rank, world_size, store):
        mesh = init_device_mesh("cpu", (world_size,))
        block = initial_block(ratio=1.0)
        results = {"block": train(block, [block.qkv], block_batch, block_loss, rank, mesh)}
        block = initial_block(ratio=1.0)
        results["bfloat16"] = train(block, [block.qkv], block_batch, under_autocast(block_loss), rank, mesh)
        block = initial_block(ratio=1.0)
        block.qkv = ExactQKV(block.qkv)
        results["bfloat16-exact"] = train(block, [block.qkv], block_batch, under_autocast(block_loss), rank, mesh)
        llama = pammcuda.convert(initial_llama(), ratio=0.5, mlp=True)
        results["llama"] = train(llama, list(llama.layers), llama_batch, llama_loss, rank, mesh)
        torch.save(results, output)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
