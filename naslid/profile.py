"""Layer-wise LID profiles of the sub-supernets that fix one candidate edge: `naslid profile`.

    naslid profile --config config/config.yaml --supernet results/default/pretrain/supernet.pt \
        --edge 2 --out results/default/profile/root/edge2.csv

For each of R batches of training data, every other edge takes a random op allowed by the mask,
and the candidate edge takes each of its allowed ops in turn on the *same* batch and the same
other-edge choices. Forward hooks on the layers (every cell and reduction block) capture their
outputs under no_grad; each is flattened per sample and its LID estimated, one batch at a time.
Result: a tidy table (id, edge, op, batch, layer, lid), one row per layer per op per batch.
"""

from __future__ import annotations

import io
import zlib

import pandas as pd
import torch
from tqdm import tqdm

from naslid.data import Dataset
from naslid.errors import NaslidError
from naslid.io import atomic_write_text
from naslid.lid import layer_lid
from naslid.space.nb201 import EDGES, OPS
from naslid.supernet import EdgeChoices, Supernet, batch_statistics, edge_choices

COLUMNS = ["id", "edge", "op", "batch", "layer", "lid"]


def op_label(group: tuple[int, ...]) -> str:
    """Name of an op, or of a group of ops profiled by the sum of their outputs (Eq. 4): 'a+b'."""
    return "+".join(OPS[o] for o in group)


def layer_features(model: Supernet, images: torch.Tensor, arch) -> list[torch.Tensor]:
    """Outputs of every layer for one forward pass; one batch's features, nothing kept after."""
    captured = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: captured.append(out)) for layer in model.layers]
    try:
        model(images, arch)
    finally:
        for hook in hooks:
            hook.remove()
    return captured


def edge_batches(config: dict, model: Supernet, dataset: Dataset, edge: int, sub_id: str, batches: int,
                 batch_size: int, what: str, device="cpu"):
    """The R characterisation batches of one candidate edge: (images, labels, other-edge ops) each.

    One stream per (seed, sub-supernet, edge): a job gives the same table wherever it runs, and every
    criterion (LID profiles, gradient matching) sees the same images and other-edge ops.
    """
    if not 0 <= edge < len(EDGES):
        raise NaslidError(f"edge {edge} does not exist; NB201 edges are 0..{len(EDGES) - 1} ({', '.join(EDGES)})")
    if batch_size > len(dataset.train):
        raise NaslidError(f"{what}.batch_size {batch_size} exceeds the {len(dataset.train)} training images")
    generator = torch.Generator().manual_seed(config["seed"] * 7919 + zlib.crc32(f"{sub_id}/{edge}".encode()))

    def stream():  # checked above, drawn lazily below
        for _ in tqdm(range(batches), desc=f"{what} {sub_id or 'root'} edge {EDGES[edge]}", leave=False, disable=None):
            index = torch.randperm(len(dataset.train), generator=generator)[:batch_size]
            images = dataset.normalise(dataset.train.images[index]).to(device)
            yield images, dataset.train.labels[index].to(device), edge_choices(model.sample_arch(generator))
    return stream()


def profile_edge(config: dict, model: Supernet, dataset: Dataset, edge: int, sub_id: str = "",
                 candidates: list[tuple[int, ...]] | None = None, device: str = "cpu") -> pd.DataFrame:
    """LID profiles of `model` with `edge` fixed to each candidate (an op, or a group summed as Eq. 4)."""
    lcfg = config["lid"]
    stream = edge_batches(config, model, dataset, edge, sub_id, lcfg["batches"], lcfg["batch_size"], "lid", device)
    allowed = [int(o) for o in model.mask[edge].nonzero()[0]]
    candidates = candidates or [(o,) for o in allowed]
    if any(o not in allowed for group in candidates for o in group):
        raise NaslidError(f"candidates {candidates} on edge {EDGES[edge]} leave the sub-supernet's mask")
    model.to(device)
    rows = []
    with torch.no_grad(), batch_statistics(model):
        for batch, (images, _, others) in enumerate(stream):
            for group in candidates:
                arch: EdgeChoices = others[:edge] + (tuple(group),) + others[edge + 1:]
                for layer, features in enumerate(layer_features(model, images, arch)):
                    rows.append((sub_id, EDGES[edge], op_label(group), batch, layer, layer_lid(features, lcfg["k"])))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_profile(table: pd.DataFrame, out) -> None:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.10g")
    atomic_write_text(out, buffer.getvalue())


def read_profiles(paths, columns: list[str] = COLUMNS) -> pd.DataFrame:
    """Concatenate the per-edge tables of `naslid profile` (LID profiles, or another criterion's `columns`)."""
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise NaslidError(f"profile table {path} is missing or unreadable ({err}); rerun `naslid profile` for it") from None
        if list(frame.columns) != columns:
            raise NaslidError(f"{path} is not a profile table of this criterion (columns {list(frame.columns)}, "
                              f"expected {columns}); rerun `naslid profile` with this config")
        if len(frame):  # an edge split earlier has an empty table; it would turn every column to object
            frames.append(frame)
    if not paths:
        raise NaslidError("no profile tables given; pass --profiles with the outputs of `naslid profile`")
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
