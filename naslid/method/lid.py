"""Local intrinsic dimension: the maximum-likelihood estimator of Amsaleg et al. (KDD 2015).

For a sample x of a batch of n feature vectors, with r_1 <= ... <= r_k the Euclidean distances to
its k nearest *other* samples,

    LID(x) = -( (1/k) * sum_i log(r_i / r_k) )^-1

and a layer's LID is the mean of LID(x) over the batch (NAS-LID, Eq. 2; k = 20 in the paper).

Rules for degenerate input, so the estimate is never a silent inf/NaN:
- duplicates: a sample at distance exactly 0 is the same point, not a neighbour; neighbours are
  taken among the samples at a positive distance;
- a sample that coincides with every other sample has LID 0 (a point has dimension 0): this is
  what a layer gives when an architecture disconnects the cell's output (all-`none` paths), so
  every sample's features are equal;
- a sample with some, but fewer than k, distinct neighbours (or n <= k) is an error;
- a sample whose k neighbours are all equidistant has sum log(r_i/r_k) = 0: its LID is infinite in
  the limit; we raise rather than average an inf.
"""

from __future__ import annotations

import numpy as np
import torch

from naslid.errors import NaslidError


def lid_mle(features, k: int = 20, chunk_size: int = 1024, feature_chunk: int = 8192):
    """Per-sample LID estimates of `features` (n, ...), flattened per sample.

    Accepts a torch tensor (computed on its device, result a tensor there) or a numpy array
    (result a numpy array). Distances are computed in float64, `chunk_size` samples' rows at a
    time, from `feature_chunk` features at a time converted to float64: beside the features, memory
    stays at chunk_size x n distances and n x feature_chunk doubles (no float64 copy of a layer).
    """
    is_numpy = isinstance(features, np.ndarray)
    x = torch.from_numpy(features) if is_numpy else features
    x = x.reshape(len(x), -1)
    if not x.is_floating_point():
        x = x.to(torch.float64)
    n = len(x)
    if k < 1:
        raise NaslidError(f"LID needs k >= 1 neighbours, got k={k}")
    if n <= k:
        raise NaslidError(
            f"LID with k={k} needs more than k samples in a batch, got {n}; raise the batch size or lower lid.k"
        )
    columns = [slice(c, c + feature_chunk) for c in range(0, x.shape[1], feature_chunk)]
    # One block of rows (the usual batch) reads its squared norms off the Gram matrix's diagonal.
    sq_norms = None if n <= chunk_size else sum(_squared_norms(x[:, c].to(torch.float64)) for c in columns)
    neighbours = torch.cat(
        [
            _knn_distances(x, sq_norms, columns, start, min(start + chunk_size, n), k)
            for start in range(0, n, chunk_size)
        ]
    )
    point = torch.isinf(neighbours).all(dim=1)  # coincides with every other sample
    if bool((torch.isinf(neighbours).any(dim=1) & ~point).any()):
        raise NaslidError(
            f"a sample has fewer than k={k} distinct neighbours in its batch (duplicates); "
            "lower lid.k or use more varied data"
        )
    neighbours = torch.where(point[:, None], 1.0, neighbours)
    log_ratio = torch.log(neighbours / neighbours[:, -1:])  # (n, k), last column 0
    mean_log = log_ratio.mean(dim=1)
    if bool((mean_log[~point] == 0).any()):
        raise NaslidError(
            "LID is unbounded for a sample whose k nearest neighbours are all equidistant; the features are degenerate"
        )
    lid = torch.where(point, 0.0, -1.0 / mean_log)
    return lid.cpu().numpy() if is_numpy else lid


def _squared_norms(block: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,ij->i", block, block)


def _knn_distances(
    x: torch.Tensor, sq_norms: torch.Tensor | None, columns: list[slice], start: int, stop: int, k: int
) -> torch.Tensor:
    """Sorted distances from samples start..stop-1 to their k nearest samples at a positive distance
    (inf: none left)."""
    dist = _distances(x, sq_norms, columns, start, stop)
    dist = dist.masked_fill(dist == 0, float("inf"))  # self and duplicates are not neighbours
    return torch.topk(dist, k, dim=1, largest=False, sorted=True).values


def _distances(
    x: torch.Tensor, sq_norms: torch.Tensor | None, columns: list[slice], start: int, stop: int, pair_chunk: int = 4096
) -> torch.Tensor:
    """Euclidean distances of samples start..stop-1 to all, by the matrix-product formula (fast), with
    the pairs it cannot resolve redone.

    |a|^2 + |b|^2 - 2ab cancels catastrophically when a and b (nearly) coincide, so it cannot give the
    exact zero of a duplicate. A sample's distance to itself is set to 0, and two all-zero samples
    get 0 from the formula already; other pairs whose squared distance is below 1e-12 of
    |a|^2 + |b|^2 (duplicates, and anything that close) are recomputed as |a - b| directly, a chunk
    of pairs at a time so that a batch of identical samples costs no n^2 x d memory. The matrix
    product is the only pass over the features that is not O(n x d): on CPU it is most of the time,
    in float64 as the values must match to 1e-6.
    """
    gram = torch.zeros(stop - start, len(x), dtype=torch.float64, device=x.device)
    for c in columns:
        part = x[:, c].to(torch.float64)
        gram.addmm_(part[start:stop], part.T)
    if sq_norms is None:  # all rows: the diagonal
        sq_norms = gram.diagonal().clone()
    scale = sq_norms[start:stop, None] + sq_norms[None, :]
    sq = gram.mul_(-2).add_(scale).clamp_min_(0)
    near = (sq <= 1e-12 * scale) & (scale > 0)  # two zero vectors (a disconnected layer) are exactly 0 apart already
    own = torch.arange(stop - start, device=x.device)
    sq[own, own + start] = 0
    near[own, own + start] = False
    near = near.nonzero()
    dist = sq.sqrt_()
    for first in range(0, len(near), pair_chunk):
        i, j = near[first : first + pair_chunk].unbind(1)
        dist[i, j] = (x[start + i].to(torch.float64) - x[j].to(torch.float64)).norm(dim=1)
    return dist


def layer_lid(features, k: int = 20) -> float:
    """LID of one layer's output: the batch mean of the per-sample estimates."""
    return float(lid_mle(features, k).mean())
