"""
One rank of test_tensor_parallel's two-process training: `python tp_worker.py RANK WORLD_SIZE STORE_FILE OUTPUT_FILE`.
Trains a converted TinyLlama under tensor parallelism on the CPU (gloo): Q/K/V and gate/up column-wise, O and down
row-wise, every rank on the same tokens, at ratio 1 (exact gradients; Q/K/V with biases, as Qwen2 has) and 1/2. Saves
each run's full parameters and, for every step, how many compressions were alive after the forward pass.
"""

import sys

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import DTensor
from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module

import pammcuda
from distributed_training import LEARNING_RATE, STEPS, gloo_process_group, initial_llama, llama_batch, llama_loss


def with_qkv_biases(model):
    """Biases on every layer's q_proj, k_proj and v_proj (ColwiseParallel shards them with the weight's rows)."""
    generator = torch.Generator().manual_seed(3)
    for layer in model.layers:
        for projection in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            projection.bias = torch.nn.Parameter(0.1 * torch.randn(projection.out_features, generator=generator))
    return model

LAYER_PLAN = {"self_attn.q_proj": ColwiseParallel(), "self_attn.k_proj": ColwiseParallel(),
              "self_attn.v_proj": ColwiseParallel(), "self_attn.o_proj": RowwiseParallel(),
              "mlp.gate_proj": ColwiseParallel(), "mlp.up_proj": ColwiseParallel(), "mlp.down_proj": RowwiseParallel()}


def tensor_parallel(model, mesh):
    """Megatron's layout for every layer; each rank then attends with its share of the heads."""
    for layer in model.layers:
        parallelize_module(layer, mesh, LAYER_PLAN)
        layer.self_attn.heads //= mesh.size()
        layer.self_attn.kv_heads //= mesh.size()
    return model


def train(model, ratio, mesh):
    model = tensor_parallel(pammcuda.convert(model, ratio=ratio, mlp=True), mesh)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    alive = []
    for step in range(STEPS):
        optimizer.zero_grad()
        before = pammcuda.live_compressed_count()
        loss = llama_loss(model, llama_batch(0, step))  # tensor-parallel ranks work on the same tokens
        alive.append(pammcuda.live_compressed_count() - before)
        loss.backward()
        optimizer.step()
        del loss  # the graph, and the compressions its nodes hold, before the next step's count
    parameters = {name: (parameter.full_tensor() if isinstance(parameter, DTensor) else parameter).detach().clone()
                  for name, parameter in model.named_parameters()}
    return parameters, alive


def main(rank, world_size, store, output):
    with gloo_process_group(rank, world_size, store):
        mesh = init_device_mesh("cpu", (world_size,))
        torch.save({"exact": train(with_qkv_biases(initial_llama()), 1.0, mesh),
                    "half": train(initial_llama(), 0.5, mesh)}, output)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
