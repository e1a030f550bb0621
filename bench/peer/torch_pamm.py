"""
PAMM (Point-Approximate Matrix Multiplication) written the way a PyTorch user writes it: the peer baseline that
pammcuda's engine is timed against (issue 14), and a readable reference of the algorithm (design.md §1).

Compression keeps k rows of X (b × n), the generators C, and for every row i a generator f(i) and a coefficient
α_i, so that X_i ≈ α_i C_f(i). The product approximates the weight gradient Gᵀ X (m × n, the [out, in] layout) as
β · B̃ᵀ C with B̃_j = Σ_{f(i) = j} α_i G_i. Every step is one or a few stock PyTorch operations: `randperm` for the
sample, `mm` for the similarities, `argmax`, `index_add_` for B̃ and `mm` for the product. Arithmetic after the
similarity GEMM is float32 whatever X's and G's type; cuBLAS accumulates 16-bit GEMMs in float32 too.

Where this differs from pammcuda by design:
- the sample comes from `torch.randperm` (PyTorch's generator), not pammcuda's Philox keys, unless `indices` is
  given: the two pick different rows for the same seed, with the same (uniform) distribution;
- for 16-bit X the similarity GEMM's output is rounded to X's type (torch.mm returns X's type), where pammcuda keeps
  it in float32: α and near-ties of f move by about one unit in the 16-bit type's last place;
- a NaN similarity wins the argmax (torch.argmax treats NaN as the largest value) where pammcuda never picks it;
  either way the NaN reaches the product, as it would in the exact GEMM.
"""

import dataclasses
import math

import torch

FLOAT_TYPES = (torch.float32, torch.float16, torch.bfloat16)


@dataclasses.dataclass(frozen=True)
class PeerCompressed:
    """What PAMM keeps of X (b × n) for the backward pass; X itself is not needed again."""

    generators: torch.Tensor  # C = X[indices], k × n, in X's type
    indices: torch.Tensor  # the generators' rows of X (int64, k), ascending when sampled
    assignment: torch.Tensor  # f: each row's generator, int64, b
    alpha: torch.Tensor  # α: each row's coefficient on its generator, float32, b (0 for a dropped row)
    beta: object  # β = b / (b − η): the float 1.0 where no row can be dropped (ε ≥ 1), else a 0-dim float32 tensor
    dropped_rows: object  # η: the int 0 where no row can be dropped, else a 0-dim int64 tensor (η < b: generator rows stay)

    @property
    def rows(self):
        return self.assignment.shape[0]

    @property
    def k(self):
        return self.generators.shape[0]

    @property
    def stored_bytes(self):
        """Bytes kept, everything counted: C, f, α and the sampled indices (β and η are scalars)."""
        kept = (self.generators, self.indices, self.assignment, self.alpha)
        return sum(t.numel() * t.element_size() for t in kept)


def generator_count(rows, ratio=None, k=None):
    """k = clamp(round(r · b), 1, b), with round half to even as pammcuda, or k itself; checked against b."""
    if k is not None:
        if not 1 <= k <= rows:
            raise ValueError(f"k must be in [1, {rows}] (the number of rows), got {k}")
        return k
    if ratio is None or not 0 < ratio <= 1:  # also rejects NaN
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    return min(max(round(ratio * rows), 1), rows)


def sample_generators(rows, k, device, generator=None):
    """k distinct rows out of b, uniformly without replacement, in ascending order (all on the device)."""
    return torch.randperm(rows, device=device, generator=generator)[:k].sort().values


def compress(x, ratio=1 / 512, *, k=None, epsilon=math.inf, generator=None, indices=None):
    """
    Compresses X (b × n, float32/float16/bfloat16) into a PeerCompressed.

    The generators are `indices` when given (in that order; position j in the list is generator j), else k rows
    sampled with `torch.randperm` from `generator` (PyTorch's default generator when None), k from `ratio` or `k`.
    Rows whose distance to their generator's line exceeds ε‖X_i‖ are dropped (α = 0) and the product is scaled by
    β = b / (b − η); the default ε = ∞ keeps every row, and ε = 0 keeps only generator rows, zero rows and rows
    lying exactly on a generator's line (uniform column-row sampling with its b/k scaling, for generic data).
    """
    _check_matrix(x, "x")
    _check_epsilon(epsilon)
    rows = x.shape[0]
    if indices is None:
        indices = sample_generators(rows, generator_count(rows, ratio, k), x.device, generator)
    else:
        indices = _checked_indices(indices, rows, x.device)
    generators = x[indices]
    generator_norm2 = generators.float().pow(2).sum(1)  # ‖C_j‖², float32
    similarities = torch.mm(x, generators.t()).float()  # s_ij = ⟨X_i, C_j⟩ (b × k)

    assignment = best_generators(similarities, generator_norm2)
    best_similarity = similarities.gather(1, assignment.unsqueeze(1)).squeeze(1)
    # α = s_if / ‖C_f‖². f only lands on a zero generator when every generator is zero; then s = 0 and α must be 0,
    # so zero norms are divided as 1 (k values, cheaper than a `where` over b rows).
    alpha = best_similarity / generator_norm2.masked_fill(generator_norm2 == 0, 1.0)[assignment]
    # A generator row is its own generator with α = 1 exactly: rounding must neither move it nor scale it.
    positions = torch.arange(indices.shape[0], device=x.device)
    assignment[indices] = positions
    alpha[indices] = 1.0

    if epsilon >= 1:  # ‖X_i − X̃_i‖ ≤ ‖X_i‖ holds for every orthogonal projection: nothing to evaluate.
        return PeerCompressed(generators, indices, assignment, alpha, 1.0, 0)
    dropped = far_rows(x, best_similarity, generator_norm2[assignment], epsilon)
    dropped[indices] = False
    alpha = alpha.masked_fill(dropped, 0.0)
    eta = dropped.sum()
    # β stays on the device: reading η back would make every compression wait for the GPU. Generator rows are
    # always kept, so η < b.
    beta = rows / (rows - eta).float()
    return PeerCompressed(generators, indices, assignment, alpha, beta, eta)


def best_generators(similarities, generator_norm2):
    """
    f(i) = argmax_j |s_ij| / ‖C_j‖ (= argmax |cosine|, since ‖X_i‖ is common to the row). A generator of norm 0 is
    never chosen (score −1 below every real score); ties go to the smallest j, as torch.argmax returns the first
    maximum. A row whose similarities are all 0 (a zero row) gets the first generator of non-zero norm.
    """
    norms = generator_norm2.sqrt()
    scores = (similarities.abs() / norms).masked_fill(norms == 0, -1.0)
    return scores.argmax(1)


def far_rows(x, best_similarity, chosen_norm2, epsilon):
    """
    The rows farther than ε‖X_i‖ from their generator's line: ‖X_i − X̃_i‖² = ‖X_i‖² (1 − cos²), so a row is far
    iff cos² = s² / (‖X_i‖² ‖C_f‖²) < 1 − ε² (in float64, as pammcuda: exact for rows exactly on the line).
    Zero rows are never far (they are their projection). With every generator zero, cos² = 0.
    """
    row_norm2 = x.float().pow(2).sum(1).double()
    chosen_norm2 = chosen_norm2.double()
    cos2 = best_similarity.double().pow(2) / (row_norm2 * chosen_norm2)
    cos2 = torch.where(chosen_norm2 > 0, cos2, torch.zeros_like(cos2))
    return (cos2 < 1.0 - epsilon * epsilon) & (row_norm2 > 0)


def approx_matmul(compressed, grad, out_dtype=None):
    """
    β · B̃ᵀ C ≈ Gᵀ X (m × n, the [out, in] layout of a weight gradient) for G (b × m), in G's type unless
    `out_dtype`. B̃ (k × m) and the product are float32; the result is rounded once to the output type.
    """
    _check_matrix(grad, "grad")
    if grad.shape[0] != compressed.rows:
        raise ValueError(f"grad has {grad.shape[0]} rows, the compressed activation {compressed.rows}")
    if grad.device != compressed.generators.device:
        raise ValueError(f"grad is on {grad.device}, the compressed activation on {compressed.generators.device}")
    weighted = compressed.alpha.unsqueeze(1) * grad  # α_i G_i, float32 by type promotion
    reduced = torch.zeros(compressed.k, grad.shape[1], dtype=torch.float32, device=grad.device)
    reduced.index_add_(0, compressed.assignment, weighted)  # B̃_j = Σ_{f(i)=j} α_i G_i
    if not (isinstance(compressed.beta, float) and compressed.beta == 1.0):
        reduced.mul_(compressed.beta)  # on B̃ (k × m) rather than on the m × n product
    product = torch.mm(reduced.t(), compressed.generators.float())
    return product.to(out_dtype or grad.dtype)


def _check_matrix(tensor, name):
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != 2 or 0 in tensor.shape:
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f"{name} must be a non-empty 2-D tensor, got {shape}")
    if tensor.dtype not in FLOAT_TYPES:
        raise TypeError(f"{name} is {tensor.dtype}; PAMM takes float32, float16 or bfloat16")


def _check_epsilon(epsilon):
    if not epsilon >= 0:  # also rejects NaN
        raise ValueError(f"epsilon must be >= 0 (math.inf keeps every row), got {epsilon}")


def _checked_indices(indices, rows, device):
    """Explicit generators (tests, other samplers), checked on the host: this path may wait for the device."""
    indices = torch.as_tensor(indices, dtype=torch.int64, device=device)
    if indices.dim() != 1 or indices.numel() == 0:
        raise ValueError(f"indices must be a non-empty 1-D list of rows, got shape {tuple(indices.shape)}")
    if bool((indices < 0).any()) or bool((indices >= rows).any()):
        raise ValueError(f"indices must be rows in [0, {rows}), got {indices.tolist()}")
    if indices.unique().numel() != indices.numel():
        raise ValueError("indices must be distinct rows (the sample is without replacement)")
    return indices
