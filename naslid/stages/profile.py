"""Profile the candidate edges of one (sub-)supernet by its split criterion: `naslid profile`.

    naslid profile --config config/config.yaml --supernet results/default/s0/pretrain/supernet.pt \
        --edge 2 --out results/default/lid/s0/profile/r/edge2.csv

LID profiles for lid and lid-pearson (`naslid.method.profile`), gradients of the shared weights for
gradient (`naslid.method.gradient`): one tidy table per job. An edge split in an earlier round is no
candidate: its table is empty, so a workflow can plan one job per edge before it knows which edges
the earlier splits took. A killed job resumes from `<out>.resume` at the next batch.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from naslid.data import load_dataset
from naslid.errors import NaslidError
from naslid.method.criteria import get_criterion
from naslid.method.profile import Checkpoint, write_profile
from naslid.runtime.device import resolve_device, seed_everything
from naslid.spaces.checkpoint import load_supernet
from naslid.stages import Arg, Stage

STAGE = Stage(
    "profile",
    "profile candidate edges by the split criterion (LID profiles, or gradients for GM-NAS)",
    reads=("data", "space", "supernet", "device"),
    criterion_reads=True,
    inputs=(
        Arg("--supernet", "checkpoint of the (sub-)supernet to profile"),
        Arg(
            "--edge",
            "candidate edge index 0..5 (repeatable; default: every unpartitioned edge)",
            many=True,
            required=False,
            type=int,
        ),
    ),
    outputs=(Arg("--out", "tidy profile table to write (.csv)"),),
)


def run(config: dict, inputs, outputs) -> None:
    criterion = get_criterion(config["split"]["criterion"])
    if not criterion.measures:
        raise NaslidError(f"split.criterion {criterion.name!r} profiles nothing; run `naslid split` without profiles")
    seed_everything(config)
    device = resolve_device(config)
    model, ckpt = load_supernet(inputs.supernet, config)
    dataset = load_dataset(config["data"])
    names = model.space.EDGES
    wanted = inputs.edge if inputs.edge is not None else list(range(len(names)))
    bad = [e for e in wanted if not 0 <= e < len(names)]
    if bad:
        raise NaslidError(
            f"--edge {bad[0]} does not exist; this space's edges are 0..{len(names) - 1} ({', '.join(names)})"
        )
    edges = [e for e in wanted if e in model.space.unpartitioned_edges(model.mask)]
    checkpoint = Checkpoint(Path(str(outputs.out) + ".resume"), config, inputs.supernet)
    tables = []
    for e in edges:
        table = checkpoint.table(e)
        if table is None:
            table = criterion.profile(config, model, dataset, e, ckpt["id"], device, checkpoint)
            checkpoint.edge_done(e, table)
        tables.append(table)
    write_profile(
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=criterion.columns), outputs.out
    )
    checkpoint.finish()
