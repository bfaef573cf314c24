"""Gradient-matching profile of one candidate edge (GM-NAS, Hu et al. 2022).

For each of R batches, every other edge takes a random op allowed by the mask, among the choices
that keep the candidate edge on an input-to-output path (`profile.other_edges`), and the candidate
edge takes each of its allowed ops in turn, on the same batch and the same other-edge choices; one
forward and one backward pass per op give the gradient of the *shared* weights (every parameter of
the supernet except the candidate edge's own ops, in every cell). The gradients are summed over the
R batches per op, and the similarity of ops i and j is the cosine of their summed gradients, as
GM-NAS does. Result: a tidy table (id, edge, op_i, op_j, similarity), one row per pair.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch

from naslid.data import Dataset
from naslid.errors import NaslidError
from naslid.method.profile import Checkpoint, edge_batches
from naslid.spaces.masked import MaskedSupernet as Supernet
from naslid.spaces.masked import batch_statistics

COLUMNS = ["id", "edge", "op_i", "op_j", "similarity"]


def shared_parameters(model: Supernet, edge: int) -> list[torch.nn.Parameter]:
    """Every parameter except those of the ops on `edge` (which differ between the ops compared)."""
    own = model.edge_parameters(edge)
    return [p for name, p in model.named_parameters() if not own.match(name)]


def op_gradients(
    config: dict,
    model: Supernet,
    dataset: Dataset,
    edge: int,
    sub_id: str = "",
    device: str = "cpu",
    checkpoint: Checkpoint | None = None,
) -> dict[int, torch.Tensor]:
    """{op: gradient of the shared weights summed over the R batches} for every allowed op of `edge`."""
    gcfg = config["gradient"]
    allowed = [int(o) for o in model.mask[edge].nonzero()[0]]
    shared = shared_parameters(model, edge)
    model.to(device)
    sums = {o: torch.zeros(sum(p.numel() for p in shared), dtype=torch.float64) for o in allowed}
    done, sums = checkpoint.resume(edge, sums, gcfg["batches"]) if checkpoint else (0, sums)
    sums = {o: s.to(device) for o, s in sums.items()}
    stream = edge_batches(
        config, model, dataset, edge, sub_id, gcfg["batches"], gcfg["batch_size"], "gradient", device, done
    )
    with batch_statistics(model):  # train-mode BatchNorm, running statistics restored afterwards
        for batch, (images, labels, others) in enumerate(stream, start=done):
            for o in allowed:
                arch = others[:edge] + ((o,),) + others[edge + 1 :]
                model.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(model(images, arch), labels).backward()
                sums[o] += torch.cat(
                    [(p.grad if p.grad is not None else torch.zeros_like(p)).flatten().double() for p in shared]
                )
            if checkpoint:
                checkpoint.save(edge, batch + 1, {o: s.cpu() for o, s in sums.items()})
    model.zero_grad(set_to_none=True)
    return sums


def gradient_edge(
    config: dict,
    model: Supernet,
    dataset: Dataset,
    edge: int,
    sub_id: str = "",
    device: str = "cpu",
    checkpoint: Checkpoint | None = None,
) -> pd.DataFrame:
    gradients = op_gradients(config, model, dataset, edge, sub_id, device, checkpoint)
    rows = []
    for i, j in itertools.combinations(sorted(gradients), 2):
        cosine = torch.nn.functional.cosine_similarity(gradients[i], gradients[j], dim=0).item()
        rows.append((sub_id, model.space.EDGES[edge], model.space.OPS[i], model.space.OPS[j], cosine))
    return pd.DataFrame(rows, columns=COLUMNS)


def similarity_of_edge(table: pd.DataFrame, edge: str, ops: list[str]) -> np.ndarray:
    """The (ops, ops) cosine matrix of one edge from a tidy gradient table; zero diagonal."""
    part = table[table["edge"] == edge]
    pairs = {(r.op_i, r.op_j): r.similarity for r in part.itertuples()}
    sim = np.zeros((len(ops), len(ops)))
    for (a, i), (b, j) in itertools.combinations(enumerate(ops), 2):
        value = pairs.get((i, j), pairs.get((j, i)))
        if value is None:
            raise NaslidError(
                f"gradient tables lack the pair {i}/{j} on edge {edge}; rerun `naslid profile` for that edge"
            )
        sim[a, b] = sim[b, a] = value
    return sim
