"""
One rank of test_tensor_parallel's four-process 2-D training: `python fsdp_tp_worker.py RANK 4 STORE_FILE OUTPUT_FILE`.
A converted TinyLlama (Q/K/V with biases) at ratio 1 on a 2 x 2 mesh, as torchtitan trains: tensor parallelism in
each pair of ranks (tp_worker's plan), FSDP2 across the pairs, each pair on its own tokens. Saves the full parameters.
"""

import sys

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

import pammcuda
from distributed_training import gloo_process_group, initial_llama, llama_batch, llama_loss, sgd_steps
from tp_worker import tensor_parallel, with_qkv_biases


def main(rank, world_size, store, output):
    with gloo_process_group(rank, world_size, store):
        mesh = init_device_mesh("cpu", (2, world_size // 2), mesh_dim_names=("dp", "tp"))
        model = tensor_parallel(pammcuda.convert(with_qkv_biases(initial_llama()), ratio=1.0, mlp=True), mesh["tp"])
        for layer in model.layers:
            fully_shard(layer, mesh=mesh["dp"])
        fully_shard(model, mesh=mesh["dp"])
        data_rank = mesh["dp"].get_local_rank()  # a pair's tokens: the pair's index, as DDP's rank would be
        sgd_steps(model, model, lambda rank, step: llama_batch(data_rank, step), llama_loss, rank)
        parameters = {name: parameter.full_tensor().detach().clone() for name, parameter in model.named_parameters()}
        torch.save({"2-D": (parameters,)}, output)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
