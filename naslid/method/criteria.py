"""Split criteria: how the sub-supernets that fix one edge to each op are compared.

A criterion does one job: profile a candidate edge of a (sub-)supernet (`profile`, one
`naslid profile` job per edge, a tidy table) and turn those tables into a similarity matrix of the
edge's ops (`similarity`). Everything else (min-cut, edge choice, masks, child ids, the split JSON)
is shared, in `naslid.method.split`.

- `lid`: NAS-LID; layer-wise LID profiles, similarity by `lid.similarity` (Eq. 5 by default).
- `lid-pearson`: the same profiles compared by Pearson distance (paper Table 5).
- `gradient`: GM-NAS; cosine of the shared weights' gradients (`naslid.method.gradient`).
- `exhaustive`: few-shot NAS (Zhao et al. 2021): measures nothing; the first unpartitioned edge
  (NB201's edge order) is split into one sub-supernet per op, `split.exhaustive_rounds` times
  (1 round: the 5 sub-supernets of the few-shot NAS paper on NB201).
- `nonlinear-count`: few-shot NAS by counting nonlinear functions (Oh et al. 2025): measures
  nothing; one split, into one sub-supernet per *nonlinear count*, the number of the cell's
  6 edges that apply a ReLU (`nor_conv_1x1`, `nor_conv_3x3`; see `nb201.nonlinear_count`). NB201
  gives 7 groups, count 0..6, of 729, 2916, 4860, 4320, 2160, 576 and 64 architectures (C(6,c) 2^c
  3^(6-c)). A group is not a product of per-edge choices, so these sub-supernets keep the full mask
  and carry their count. Supernet-balanced sampling (SBS) trains every sub-supernet for the same
  number of steps with one subnet of each per step; here each sub-supernet is fine-tuned in its own
  job for the same `finetune.epochs` on the same batches, which gives every one of them exactly
  that number of steps however few architectures it holds (uniform sampling in one supernet would
  give the 64 architectures of count 6 only 0.4% of the steps).
- `random`: the control a criterion must beat to claim that it splits *well*, not just that it
  splits: measures nothing; the same rounds, the same two-way splits and so the same number of
  sub-supernets and budget as `lid`, but the edge (among the unpartitioned ones) and the
  partition of its ops (balanced like the min-cut's with `split.balanced`) are drawn from a
  generator seeded by the experiment's seed and the sub-supernet's mask: every sub-supernet draws
  its own split, and the same experiment draws the same ones every time.
- `none`: SPOS/RSPS, no split (the supernet is trained for the same total budget instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import pandas as pd

from naslid.config import CRITERION_NAMES
from naslid.errors import NaslidError
from naslid.method import gradient, profile
from naslid.method.split import profiles_of_edge, similarity_matrix, tied_batches
from naslid.spaces import get_space


@dataclass(frozen=True)
class Criterion:
    name: str
    columns: list[str]
    profile: (
        Callable[..., pd.DataFrame] | None
    )  # (config, model, dataset, edge, sub_id, device, checkpoint=None) -> table
    similarity: (
        Callable[[pd.DataFrame, str, list[str], dict], tuple] | None
    )  # (table, edge, ops, config) -> (matrix, excluded batches)
    decide: Callable[[np.ndarray, dict], dict] | None = (
        None  # (mask, config) -> decision, for criteria that measure nothing
    )
    children: int | Callable[[object], int] = 2  # sub-supernets per split, or a function of the search space
    reads: tuple[str, ...] = ()  # the config section its profile and similarity read

    @property
    def measures(self) -> bool:
        """Whether the criterion profiles edges (needs `naslid profile` before `naslid split`)."""
        return self.profile is not None

    def rounds(self, config: dict) -> int:
        """How many rounds of splits the criterion makes."""
        if self.name == "exhaustive":
            return config["split"]["exhaustive_rounds"]
        return 1 if self.name == "nonlinear-count" else config["split"]["rounds"]


def _exhaustive_width(space) -> int:
    """Children of an exhaustive split: the most ops any edge of the space allows (NB201: 5)."""
    return int(space.full_mask().sum(axis=1).max())


def _exhaustive_decision(mask: np.ndarray, config: dict) -> dict:
    """The first unpartitioned edge that allows the most ops: every split has the same number of
    children (in ProxylessNAS's space the first layer of a stage cannot be skipped and has one op fewer)."""
    space = get_space(config)
    edges = [e for e in space.unpartitioned_edges(mask) if mask[e].sum() == _exhaustive_width(space)]
    if not edges:
        raise NaslidError("every edge of this sub-supernet is already split; lower split.exhaustive_rounds")
    edge = edges[0]
    return {
        "edge": space.EDGES[edge],
        "groups": [[space.OPS[o]] for o in np.flatnonzero(mask[edge])],
        "edge_rule": "first unpartitioned edge",
        "candidates": {},
    }


def _nonlinear_decision(mask: np.ndarray, config: dict) -> dict:
    return {
        "edge": None,
        "groups": [[count] for count in get_space(config).nonlinear_counts()],
        "edge_rule": "nonlinear count",
        "candidates": {},
    }


def _random_decision(mask: np.ndarray, config: dict) -> dict:
    space = get_space(config)
    edges = space.unpartitioned_edges(mask)
    if not edges:
        raise NaslidError("every edge of this sub-supernet is already split; lower split.rounds")
    rng = np.random.default_rng([config["seed"], *mask.astype(int).ravel()])
    edge = edges[int(rng.integers(len(edges)))]
    ops = [space.OPS[o] for o in np.flatnonzero(mask[edge])]
    size = len(ops) // 2 if config["split"]["balanced"] else int(rng.integers(1, len(ops)))
    drawn = set(rng.permutation(len(ops))[:size].tolist())
    groups = [[op for i, op in enumerate(ops) if (i in drawn) == side] for side in (True, False)]
    groups.sort(key=lambda group: ops.index(group[0]))  # the first op's group first, as the min-cut orders them
    return {"edge": space.EDGES[edge], "groups": groups, "edge_rule": "random", "candidates": {}}


def _lid_similarity(kind: str | None):
    def similarity(table, edge, ops, config):
        profiles = profiles_of_edge(table, edge, ops)
        tied = tied_batches(profiles)
        sim = similarity_matrix(profiles, kind or config["lid"]["similarity"], config["lid"]["eps"], exclude=tied)
        return sim, [{"batch": r, "why": "every op gave the identical LID profile"} for r in tied]

    return similarity


def _gradient_similarity(table, edge, ops, config):
    return gradient.similarity_of_edge(table, edge, ops), []


def _lid_profile(config, model, dataset, edge, sub_id, device, checkpoint=None):
    return profile.profile_edge(config, model, dataset, edge, sub_id, device=device, checkpoint=checkpoint)


CRITERIA = {
    "lid": Criterion("lid", profile.COLUMNS, _lid_profile, _lid_similarity(None), reads=("lid",)),
    "lid-pearson": Criterion("lid-pearson", profile.COLUMNS, _lid_profile, _lid_similarity("pearson"), reads=("lid",)),
    "gradient": Criterion(
        "gradient", gradient.COLUMNS, gradient.gradient_edge, _gradient_similarity, reads=("gradient",)
    ),
    "exhaustive": Criterion("exhaustive", [], None, None, _exhaustive_decision, children=_exhaustive_width),
    "nonlinear-count": Criterion(
        "nonlinear-count", [], None, None, _nonlinear_decision, children=lambda space: len(space.nonlinear_counts())
    ),
    "random": Criterion("random", [], None, None, _random_decision),
}
NO_SPLIT = "none"
if [*CRITERIA, NO_SPLIT] != list(CRITERION_NAMES):
    raise RuntimeError(
        f"naslid.config.CRITERION_NAMES {CRITERION_NAMES} and the registered criteria "
        f"{[*CRITERIA, NO_SPLIT]} differ: register every name there, in its order"
    )


def get_criterion(name: str) -> Criterion:
    if name == NO_SPLIT:
        raise NaslidError(
            "split.criterion 'none' does not split: the supernet is searched as it is; "
            "skip the profile and split stages for it"
        )
    if name not in CRITERIA:
        raise NaslidError(f"unknown split criterion {name!r}; choose one of {', '.join([*CRITERIA, NO_SPLIT])}")
    return CRITERIA[name]


def criterion_reads(name: str) -> tuple[str, ...]:
    """The config sections criterion `name` reads to profile and compare ops (`none`: nothing)."""
    return () if name == NO_SPLIT else get_criterion(name).reads


def training_epochs(name: str, config: dict) -> dict:
    """Budget parity: the epochs a criterion trains, pretraining and every sub-supernet's fine-tuning.

    `none` fine-tunes its one supernet for as many epochs as a two-way criterion spends on all of its
    sub-supernets (`split.rounds` rounds), so the one-shot baseline is trained for the same total.
    """
    split = config["split"]
    if name == NO_SPLIT:
        return {"pretrain": config["train"]["epochs"], "fine-tune": training_epochs("lid", config)["fine-tune"]}
    rounds, children = split_shape(name, config)
    between = sum(children**k for k in range(1, rounds)) * split["epochs_between_rounds"]
    return {
        "pretrain": config["train"]["epochs"],
        "fine-tune": children**rounds * config["finetune"]["epochs"] + between,
    }


MAX_CHILDREN = 10  # sub-supernet ids are paths of one-digit child indices (r, r0, r01, ...)


def split_shape(name: str, config: dict) -> tuple[int, int]:
    """(rounds, sub-supernets per split) of a criterion; `none`: (0, 1). The workflow plans its DAG by it."""
    if name == NO_SPLIT:
        return 0, 1
    criterion = get_criterion(name)
    children = criterion.children(get_space(config)) if callable(criterion.children) else criterion.children
    if children > MAX_CHILDREN:
        raise NaslidError(
            f"{name} would split this space into {children} sub-supernets at once, but a sub-supernet's id "
            f"holds one digit per round, so one split makes at most {MAX_CHILDREN}: leave {name} out of "
            f"workflow.criteria for space {config['space']['name']!r}"
        )
    return criterion.rounds(config), children
