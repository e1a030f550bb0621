"""Test helpers: PAMM by brute force in float64 (loops over rows and generators), float32 error bounds, and the
generator set pammcuda samples for a seed."""

import math

import torch

FLOAT32_UNIT = 2.0**-24  # unit roundoff u of float32
BFLOAT16_UNIT = 2.0**-8


def gamma(terms, unit=FLOAT32_UNIT):
    """γ_n = n·u / (1 − n·u): the bound on the relative error of a float sum or dot product of n terms."""
    return terms * unit / (1 - terms * unit)


class BruteForce:
    """design.md §1 steps 3–5 and 7–8 row by row in float64, for a given generator list."""

    def __init__(self, x, indices, epsilon=math.inf):
        self.x = x.double()
        self.indices = [int(i) for i in indices]
        self.generators = self.x[self.indices]
        rows = self.x.shape[0]
        position = {row: j for j, row in enumerate(self.indices)}
        norms = [float(c.norm()) for c in self.generators]
        eligible = [j for j, norm in enumerate(norms) if norm > 0]
        self.assignment, self.alpha, self.dropped = [], [], []
        for i in range(rows):
            f, alpha, dropped = self._row(self.x[i], position.get(i), norms, eligible, epsilon)
            self.assignment.append(f)
            self.alpha.append(alpha)
            self.dropped.append(dropped)
        self.beta = rows / (rows - sum(self.dropped))

    def _row(self, row, own_position, norms, eligible, epsilon):
        if own_position is not None:
            return own_position, 1.0, False
        if not eligible:
            return 0, 0.0, 0 < 1 - epsilon**2 and float(row.norm()) > 0
        best, best_score = eligible[0], -1.0
        for j in eligible:
            score = abs(float(row @ self.generators[j])) / norms[j]
            if score > best_score:  # strictly: ties keep the smaller j
                best, best_score = j, score
        row_norm = float(row.norm())
        if row_norm == 0:
            return best, 0.0, False
        similarity = float(row @ self.generators[best])
        cos2 = similarity**2 / (row_norm**2 * norms[best] ** 2)
        if cos2 < 1 - epsilon**2:
            return best, 0.0, True
        return best, similarity / norms[best] ** 2, False

    def approximation(self):
        """β X̃: row i is β α_i C_f(i) (b × n)."""
        alpha = torch.tensor(self.alpha, dtype=torch.float64)
        return self.beta * alpha.unsqueeze(1) * self.generators[self.assignment]

    def product(self, grad):
        """β Σ_i α_i G_iᵀ C_f(i) = Gᵀ (β X̃), m × n."""
        return grad.double().t() @ self.approximation()


def approximation_of(compressed):
    """β X̃ of a torch_pamm compression, in float64."""
    return (float(compressed.beta) * compressed.alpha.double().unsqueeze(1)
            * compressed.generators.double()[compressed.assignment])


def pammcuda_approximation(compressed, rows):
    """β X̃ of a pammcuda compression, read through its own product: with G = I_b, Gᵀ(β X̃) is β X̃ itself."""
    return compressed.matmul(torch.eye(rows)).double()


def pammcuda_generator_rows(pammcuda, rows, k, seed):
    """
    The rows pammcuda samples for (seed, b, k), which do not depend on X (design.md §1 step 2). Compressing X = I_b
    makes every non-generator row orthogonal to every generator (α = 0), and every generator row its own generator
    (α = 1), so β X̃ = diag(1 on the generators): its non-zero diagonal is the sample.
    """
    compressed = pammcuda.compress(torch.eye(rows), pammcuda.PammOptions(k=k, seed=seed))
    return torch.nonzero(pammcuda_approximation(compressed, rows).diagonal()).flatten()
