"""Layer-wise LID profiles of the sub-supernets that fix one candidate edge (`naslid profile`), and the
profiling batches every measuring criterion shares (`edge_batches`, `other_edges`, `Checkpoint`).

For each of R batches of training data, every other edge takes a random op allowed by the mask,
drawn among the choices that keep the candidate edge on an input-to-output path of the cell
(`other_edges`: otherwise every op of the edge computes the same and the batch only ties them),
and the candidate edge takes each of its allowed ops in turn on the *same* batch and the same
other-edge choices. Forward hooks on the layers (every cell and reduction block) take their
outputs under no_grad; each is flattened per sample and its LID estimated at once, in the hook.
Result: a tidy table (id, edge, op, batch, layer, lid), one row per layer per op per batch.

A long profiling job (the paper's R batches on a large supernet) checkpoints to `<out>.resume`
(`Checkpoint`) after a batch group, the forward passes of all candidate ops on one batch; a killed or
preempted job resumes at the batch after the last checkpoint and writes the same table as an
uninterrupted one. A finished edge is kept as its table, not its state: gradient matching's state is
every op's summed gradient of the shared weights (ProxylessNAS's supernet: 777 MiB an edge), and
keeping each edge's would grow the file and the memory with every edge (21 edges: 16 GiB a write).
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from naslid.data import Dataset
from naslid.errors import NaslidError
from naslid.io import atomic_write_text
from naslid.method.lid import layer_lid
from naslid.runtime import preempt
from naslid.runtime.resume import ResumeFile, Throttle, fingerprint
from naslid.spaces.masked import EdgeChoices, batch_statistics, edge_choices
from naslid.spaces.masked import MaskedSupernet as Supernet

COLUMNS = ["id", "edge", "op", "batch", "layer", "lid"]


def op_label(ops: tuple[str, ...], group: tuple[int, ...]) -> str:
    """Name of an op, or of a group of ops profiled by the sum of their outputs (Eq. 4): 'a+b'."""
    return "+".join(ops[o] for o in group)


def layer_lids(model: Supernet, images: torch.Tensor, arch, k: int) -> list[float]:
    """LID of every layer's output for one forward pass.

    Each layer's LID is estimated in its forward hook, while the pass goes on, so only one layer's
    output is held at a time: the memory of a profile is one forward pass, never all layers' outputs.
    """
    lids = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: lids.append(layer_lid(out, k))) for layer in model.layers]
    try:
        model(images, arch)
    finally:
        for hook in hooks:
            hook.remove()
    return lids


class Checkpoint:
    """The resume file of one profile job: the state of the edge in progress (batches done, and the
    rows or gradient sums after them) and the table of every edge finished.

    A batch group's state is written only while writing takes at most a tenth of the time (`Throttle`):
    a large state is written every few batch groups, a small one after each, and at once on SIGTERM,
    so a preempted job loses nothing and a killed one at most the groups since the last write.
    It is used only by a job of the same config and supernet (its fingerprint); anything else starts over.
    """

    def __init__(self, path: Path, config: dict, supernet: Path):
        from naslid.spaces import get_space

        self.names = get_space(config).EDGES
        self.file = ResumeFile(path, "profile", fingerprint(config, files=[supernet]))
        self.path = self.file.path
        saved = self.file.load() or {}
        self.edges = saved.get("edges", {})  # {edge: (batches done, state)}: the edge in progress
        self.finished = saved.get("finished", {})  # {edge: (batches, table)}
        self.throttle = Throttle()

    def resume(self, edge: int, fresh, batches: int):
        """(batches done, state) of `edge`, announced as `resumed profile at batch k of <batches>`;
        (0, fresh) if it has not started."""
        if edge not in self.edges:
            return 0, fresh
        preempt.resumed("profile", "batch", self.edges[edge][0], batches, f"{self.path} (edge {self.names[edge]})")
        return self.edges[edge]

    def table(self, edge: int) -> pd.DataFrame | None:
        """The table of `edge` if a previous run finished it (announced as resumed at its last batch)."""
        if edge not in self.finished:
            return None
        batches, table = self.finished[edge]
        preempt.resumed("profile", "batch", batches, batches, f"{self.path} (edge {self.names[edge]})")
        return table

    def save(self, edge: int, done: int, state) -> None:
        self.edges[edge] = (done, state)
        if self.throttle.due():
            self._write()
            preempt.checkpoint_done(f"batch {done} of edge {edge} ({self.path})")

    def edge_done(self, edge: int, table: pd.DataFrame) -> None:
        """Keep `edge` as its table from now on, and drop its state."""
        done, _ = self.edges.pop(edge, (0, None))
        self.finished[edge] = (done, table)
        self._write()
        preempt.checkpoint_done(f"edge {self.names[edge]} ({self.path})")

    def _write(self) -> None:
        self.throttle.write(lambda: self.file.save({"edges": self.edges, "finished": self.finished}))

    def finish(self) -> None:
        self.file.finish()


def edge_batches(
    config: dict,
    model: Supernet,
    dataset: Dataset,
    edge: int,
    sub_id: str,
    batches: int,
    batch_size: int,
    what: str,
    device="cpu",
    start: int = 0,
):
    """The R profiling batches of one candidate edge: (images, labels, other-edge ops) each.

    One stream per (seed, sub-supernet, edge): a job gives the same table wherever it runs, and every
    criterion (LID profiles, gradient matching) sees the same images and other-edge ops. A resumed
    job passes `start`, the batches it has done: they are drawn (to keep the stream) but not yielded.
    """
    edges = model.space.EDGES
    if not 0 <= edge < len(edges):
        raise NaslidError(
            f"edge {edge} does not exist; this space's edges are 0..{len(edges) - 1} ({', '.join(edges)})"
        )
    if batch_size > len(dataset.train):
        raise NaslidError(f"{what}.batch_size {batch_size} exceeds the {len(dataset.train)} training images")
    if not model.space.edge_can_be_on_path(model.mask, edge):
        raise NaslidError(
            f"edge {edges[edge]} lies on no input-to-output path of any architecture of sub-supernet "
            f"{sub_id or 'root'}: its ops cannot differ, so it cannot be profiled; "
            f"split it with another criterion or allow more ops on the edges around it"
        )
    generator = torch.Generator().manual_seed(config["seed"] * 7919 + zlib.crc32(f"{sub_id}/{edge}".encode()))

    def stream():  # checked above, drawn lazily below
        for batch in tqdm(
            range(batches),
            desc=f"{what} {sub_id or 'root'} edge {edges[edge]}",
            leave=False,
            disable=None,
            initial=start,
        ):
            index = torch.randperm(len(dataset.train), generator=generator)[:batch_size]
            others = other_edges(model, edge, generator)
            if batch >= start:
                images = dataset.normalise(dataset.train.images[index]).to(device)
                yield images, dataset.train.labels[index].to(device), others

    return stream()


def other_edges(model: Supernet, edge: int, generator: torch.Generator) -> EdgeChoices:
    """Random ops of the sub-supernet for every edge, drawn until they put `edge` on an input-to-output
    path of the cell (uniform among the mask's architectures that do, by rejection).

    Profiling an edge presupposes that its ops can change what the network computes. Drawn
    unconditionally, the other edges sometimes cut the edge off (its source receives nothing, or its
    target leads nowhere): then every op of the edge gives the same output, identical LID profiles
    and gradients, and such a batch says nothing about the ops but ties them all (with Eq. 5, a
    similarity of 1/eps). `edge_batches` has checked that some architecture of the mask does keep
    the edge on a path, so the draws end; the bound only guards that check.
    """
    for _ in range(10_000):
        others = edge_choices(model.sample_arch(generator))
        if model.space.edge_on_path(others, edge):
            return others
    raise NaslidError(f"no draw of sub-supernet ops put edge {model.space.EDGES[edge]} on a path in 10,000 tries")


def profile_edge(
    config: dict,
    model: Supernet,
    dataset: Dataset,
    edge: int,
    sub_id: str = "",
    candidates: list[tuple[int, ...]] | None = None,
    device: str = "cpu",
    checkpoint: Checkpoint | None = None,
) -> pd.DataFrame:
    """LID profiles of `model` with `edge` fixed to each candidate (an op, or a group summed as Eq. 4)."""
    lcfg = config["lid"]
    done, rows = checkpoint.resume(edge, [], lcfg["batches"]) if checkpoint else (0, [])
    stream = edge_batches(
        config, model, dataset, edge, sub_id, lcfg["batches"], lcfg["batch_size"], "lid", device, done
    )
    allowed = [int(o) for o in model.mask[edge].nonzero()[0]]
    candidates = candidates or [(o,) for o in allowed]
    if any(o not in allowed for group in candidates for o in group):
        raise NaslidError(f"candidates {candidates} on edge {model.space.EDGES[edge]} leave the sub-supernet's mask")
    model.to(device)
    with torch.no_grad(), batch_statistics(model):
        for batch, (images, _, others) in enumerate(stream, start=done):
            for group in candidates:
                arch: EdgeChoices = others[:edge] + (tuple(group),) + others[edge + 1 :]
                for layer, lid in enumerate(layer_lids(model, images, arch, lcfg["k"])):
                    rows.append((sub_id, model.space.EDGES[edge], op_label(model.space.OPS, group), batch, layer, lid))
            if checkpoint:
                checkpoint.save(edge, batch + 1, rows)
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
            frame = pd.read_csv(path, dtype={"id": str, "edge": str}, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise NaslidError(
                f"profile table {path} is missing or unreadable ({err}); rerun `naslid profile` for it"
            ) from None
        if list(frame.columns) != columns:
            raise NaslidError(
                f"{path} is not a profile table of this criterion (columns {list(frame.columns)}, "
                f"expected {columns}); rerun `naslid profile` with this config"
            )
        if len(frame):  # an edge split earlier has an empty table; it would turn every column to object
            frames.append(frame)
    if not paths:
        raise NaslidError("no profile tables given; pass --profiles with the outputs of `naslid profile`")
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
