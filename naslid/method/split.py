"""The split of one (sub-)supernet in two by min-cut on the similarities of an edge's ops (`naslid split`).

For every unpartitioned edge, the profiles of the sub-supernets that fix the edge to op i give a
similarity matrix s_ij (Eq. 5) from their distances averaged over the R profiling batches; a batch
in which every op gave the identical profile is left out and recorded (`excluded_batches`). The ops
are split into two groups that maximise the *partition score*, the sum of intra-group similarities
(Eq. 6); with at most a dozen ops the exact maximum is found by enumerating every bipartition. The edge with the
highest partition score is split (paper), or, with `split.edge_rule: official-code`, the edge with
the highest cross-group similarity (what the official NAS-LID code does). The two children's masks
keep one group each on that edge. Sub-supernet ids are paths of child indices: "" is the supernet,
"0" and "1" its children, "01" the second child of "0", and so on.

Separability of an edge (Eq. 7, Fig. 4): the paper describes it only in words, and the official
code's formula could not be established, so naslid uses the normalised dispersion of the pairwise
similarities around their mean,  sep = sqrt( mean_{i<j} (s_ij - s_bar)^2 ) / s_bar,  with
s_bar = mean_{i<j} s_ij. Ops that are all alike (equal s_ij) score 0: hard to split.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from naslid.errors import NaslidError
from naslid.io import load_json
from naslid.spaces import get_space


def distance(a: np.ndarray, b: np.ndarray, kind: str = "euclidean") -> float:
    """Distance of two layer-wise LID profiles (vectors over layers): Euclidean (Eq. 5) or Pearson (Table 5)."""
    if kind == "euclidean":
        return float(np.linalg.norm(a - b))
    if kind == "pearson":
        # A constant profile (a path cut off by `none` has LID 0 everywhere) has no correlation:
        # two constant profiles count as the same shape (r = 1), a constant and a varying one as r = 0.
        flat_a, flat_b = np.ptp(a) == 0, np.ptp(b) == 0
        r = float(flat_a and flat_b) if flat_a or flat_b else np.corrcoef(a, b)[0, 1]
        return 1.0 - r
    raise NaslidError(f"unknown distance {kind!r}; use euclidean or pearson")


def similarity(a: np.ndarray, b: np.ndarray, kind: str = "euclidean", eps: float = 1e-8) -> float:
    """Similarity of two layer-wise LID profiles: 1 / (distance + eps) (Eq. 5, Table 5), or the
    official code's cosine."""
    if kind == "cosine":
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    if kind not in ("euclidean", "pearson"):
        raise NaslidError(f"unknown similarity {kind!r}; use euclidean, pearson or cosine")
    return float(1.0 / (distance(a, b, kind) + eps))


def tied_batches(profiles: np.ndarray) -> list[int]:
    """Batches in which every op has exactly the same profile: the ops made no difference there."""
    return [r for r in range(profiles.shape[1]) if (profiles[:, r] == profiles[0, r]).all()]


def similarity_matrix(
    profiles: np.ndarray, kind: str = "euclidean", eps: float = 1e-8, exclude: list[int] = ()
) -> np.ndarray:
    """profiles: (m ops, R batches, L layers) -> (m, m) similarities over the batches not in
    `exclude`, zero diagonal.

    The profiles of two ops are compared batch by batch (both saw the same images and other-edge
    ops), and the *distances* are averaged over the batches before Eq. 5 inverts them:
    s_ij = 1 / (mean_r d(LID_i^r, LID_j^r) + eps). Averaging the inverted similarities instead would
    let one batch in which two profiles happen to coincide (1/eps = 1e8) outweigh all others.
    The cosine similarity is bounded and is averaged as it is.
    """
    m, batches, _ = profiles.shape
    kept = [r for r in range(batches) if r not in set(exclude)]
    if not kept:
        raise NaslidError(
            "every profiling batch was excluded: the ops of this edge never made a difference; "
            "rerun `naslid profile` (it keeps the edge on an input-to-output path)"
        )
    sim = np.zeros((m, m))
    for i, j in itertools.combinations(range(m), 2):
        if kind == "cosine":
            value = np.mean([similarity(profiles[i, r], profiles[j, r], kind) for r in kept])
        else:
            value = 1.0 / (np.mean([distance(profiles[i, r], profiles[j, r], kind) for r in kept]) + eps)
        sim[i, j] = sim[j, i] = value
    return sim


def partition_score(similarity: np.ndarray, groups) -> float:
    """Eq. 6: the sum of similarities of the pairs inside each group."""
    return float(sum(similarity[i, j] for group in groups for i, j in itertools.combinations(group, 2)))


def cross_similarity(similarity: np.ndarray, groups) -> float:
    """The cut: sum of similarities between the two groups."""
    a, b = groups
    return float(sum(similarity[i, j] for i in a for j in b))


def min_cut_bipartition(similarity: np.ndarray, balanced: bool = True) -> tuple[list[int], list[int]]:
    """Two non-empty groups of node indices that maximise the partition score.

    Maximising intra-group similarity is the same as minimising the cut, since the total is fixed.
    Exact, by enumerating every bipartition once (node 0 always in the first group), which is the
    simplest correct min-cut for the dozen ops a search-space edge has. Balanced: sizes differ by
    at most one. Ties go to the first bipartition in enumeration order.
    """
    sim = np.asarray(similarity, dtype=float)
    m = len(sim)
    if sim.shape != (m, m) or m < 2:
        raise NaslidError(f"a similarity matrix must be square with at least 2 ops, got shape {sim.shape}")
    if not np.allclose(sim, sim.T) or not np.isfinite(sim).all():
        raise NaslidError("a similarity matrix must be symmetric and finite")
    best, best_score = None, -np.inf
    rest = range(1, m)
    for size in range(0, m - 1):
        for others in itertools.combinations(rest, size):
            a = [0, *others]
            b = [i for i in rest if i not in others]
            if balanced and abs(len(a) - len(b)) > 1:
                continue
            score = partition_score(sim, (a, b))
            if score > best_score:
                best, best_score = (a, b), score
    return best


def separability(similarity: np.ndarray) -> float:
    """Normalised dispersion of the pairwise similarities (see the module docstring)."""
    upper = similarity[np.triu_indices(len(similarity), k=1)]
    return float(upper.std() / abs(upper.mean()))  # |mean|: gradient cosines may be negative


def profiles_of_edge(table: pd.DataFrame, edge: str, ops: list[str]) -> np.ndarray:
    """(ops, batches, layers) LID array of one edge from a tidy profile table."""
    part = table[table["edge"] == edge]
    missing = [op for op in ops if op not in set(part["op"])]
    if missing:
        raise NaslidError(
            f"profile tables lack op(s) {', '.join(missing)} on edge {edge}; rerun `naslid profile` for that edge"
        )
    cube = part.pivot_table(index=["op", "batch"], columns="layer", values="lid")
    return np.stack([cube.loc[op].to_numpy() for op in ops])


def split_edges(space, mask: np.ndarray, split_config: dict, similarity_of) -> dict:
    """Score every unpartitioned edge; return the candidates and the chosen edge and groups.

    `similarity_of(edge, ops)` is the criterion's similarity matrix of the edge's ops and the
    profiling batches it left out, each with the reason (recorded with the candidate).
    """
    edges = space.unpartitioned_edges(mask)
    if not edges:
        raise NaslidError("every edge of this sub-supernet is already split; lower split.rounds")
    candidates = {}
    for e in edges:
        ops = [space.OPS[o] for o in np.flatnonzero(mask[e])]
        sim, excluded = similarity_of(space.EDGES[e], ops)
        a, b = min_cut_bipartition(sim, split_config["balanced"])
        candidates[space.EDGES[e]] = {
            "ops": ops,
            "similarity": sim.round(12).tolist(),
            "groups": [[ops[i] for i in a], [ops[i] for i in b]],
            "partition_score": partition_score(sim, (a, b)),
            "cross_similarity": cross_similarity(sim, (a, b)),
            "separability": separability(sim),
            "excluded_batches": excluded,
        }
    key = "partition_score" if split_config["edge_rule"] == "partition-score" else "cross_similarity"
    chosen = max(candidates, key=lambda edge: candidates[edge][key])  # ties: the first edge in the space's order
    return {
        "edge": chosen,
        "groups": candidates[chosen]["groups"],
        "edge_rule": split_config["edge_rule"],
        "candidates": candidates,
    }


def children_masks(space, mask: np.ndarray, edge: str, groups: list[list[str]]) -> list[np.ndarray]:
    e = space.EDGES.index(edge)
    children = []
    for group in groups:
        child = mask.copy()
        child[e] = [name in group for name in space.OPS]
        children.append(child)
    return children


def child_of_split(path, child: int) -> tuple[np.ndarray, str, list | None]:
    record = load_json(path, "split JSON")
    children = record.get("children") if isinstance(record, dict) else None
    if not isinstance(children, list):
        raise NaslidError(f"{path} is not a split JSON (no 'children'); pass the output of `naslid split`")
    if not 0 <= child < len(children):
        raise NaslidError(f"{path} has children 0..{len(children) - 1}; --child {child} does not exist")
    if not isinstance(record.get("config"), dict):
        raise NaslidError(f"{path} has no 'config' (the search space its masks belong to); rerun `naslid split`")
    space = get_space(record["config"])
    return space.mask_from_lists(children[child]["mask"]), children[child]["id"], children[child].get("nonlinear")
