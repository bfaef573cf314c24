"""Split a (sub-)supernet by its criterion: `naslid split`.

    naslid split --config config/config.yaml --supernet results/default/s0/pretrain/supernet.pt \
        --profiles results/default/lid/s0/profile/r/edge*.csv --out results/default/lid/s0/split/r.json

Min-cut on the criterion's similarities and the edge by partition score (`naslid.method.split`), or
the criterion's own decision for one that measures nothing (exhaustive, nonlinear-count). Every
criterion writes the same record: what was measured, what was chosen, the children.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from naslid.errors import NaslidError
from naslid.io import atomic_write_json, load_checkpoint
from naslid.method.criteria import get_criterion
from naslid.method.profile import read_profiles
from naslid.method.split import children_masks, split_edges
from naslid.spaces import get_space
from naslid.stages import Arg, Stage

STAGE = Stage(
    "split",
    "split a (sub-)supernet by min-cut on its criterion's similarities (or per op, per nonlinear count)",
    reads=("split", "space"),
    criterion_reads=True,
    inputs=(
        Arg("--supernet", "checkpoint of the (sub-)supernet to split"),
        Arg(
            "--profiles",
            "its profile tables (from `naslid profile`); none for a criterion that measures "
            "nothing (exhaustive, nonlinear-count)",
            many=True,
            required=False,
            default=[],
            empty_ok=True,
        ),
    ),
    outputs=(Arg("--out", "split JSON to write"),),
)


def run(config: dict, inputs, outputs) -> dict:
    ckpt = load_checkpoint(inputs.supernet, "supernet")
    criterion = get_criterion(config["split"]["criterion"])
    table = read_profiles(inputs.profiles, criterion.columns) if criterion.measures else None
    mask = get_space(config).mask_from_lists(ckpt["mask"])
    record = split(config, table, mask, ckpt["id"], ckpt.get("nonlinear"))
    atomic_write_json(outputs.out, record)
    return record


def split(config: dict, table: pd.DataFrame, mask: np.ndarray, sub_id: str, nonlinear=None) -> dict:
    """The split record of sub-supernet `sub_id`: what was measured, what was chosen, the children.

    Every criterion writes the same schema. A child is its mask and, for the nonlinear-count
    criterion, the nonlinear counts it holds (`nonlinear`; null for every other criterion).
    """
    criterion = get_criterion(config["split"]["criterion"])
    space = get_space(config)
    if nonlinear is not None:
        raise NaslidError(f"sub-supernet {sub_id!r} is already a nonlinear-count group; it cannot be split again")
    if criterion.decide is not None:
        decision = criterion.decide(mask, config)
    else:
        decision = split_edges(
            space, mask, config["split"], lambda edge, ops: criterion.similarity(table, edge, ops, config)
        )
    if decision["edge"] is None:  # nonlinear-count: the groups are counts, every child keeps the mask
        children = [(mask, group) for group in decision["groups"]]
    else:
        children = [(m, None) for m in children_masks(space, mask, decision["edge"], decision["groups"])]
    return {
        "id": sub_id,
        "criterion": config["split"]["criterion"],
        "mask": space.mask_to_lists(mask),
        **decision,
        "children": [
            {"id": sub_id + str(i), "mask": space.mask_to_lists(m), "nonlinear": counts}
            for i, (m, counts) in enumerate(children)
        ],
        "config": config,
    }
