"""Fine-tune one sub-supernet, inheriting its parent's weights: `naslid finetune`.

    naslid finetune --config C --parent results/default/s0/pretrain/supernet.pt \
        --split results/default/lid/s0/split/r.json --child 0 --out r0.pt --metrics r0.json

The child is one entry of the parent's split JSON (its mask, and its nonlinear counts for the
nonlinear-count criterion); without `--split` the parent's own mask is trained on (the one-shot
baseline). `--epochs` is how long: the workflow passes `finetune.epochs` for a final sub-supernet,
`split.epochs_between_rounds` between rounds, and the split criteria's total for `none`.
`finetune.init: scratch` re-initialises the final sub-supernets only (and `none`'s supernet): a child
that a later round splits again inherits, so that the next split profiles trained weights, as in
NAS-LID's code (splits during training, the finals retrained from a fresh initialisation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from naslid.data import load_dataset
from naslid.errors import NaslidError
from naslid.method.criteria import split_shape
from naslid.method.rsps import train
from naslid.method.split import child_of_split
from naslid.io import load_json
from naslid.runtime.device import seed_everything
from naslid.spaces.checkpoint import build_supernet, load_supernet
from naslid.stages import Arg, Stage

STAGE = Stage(
    "finetune",
    "fine-tune one sub-supernet, inheriting its parent's weights",
    reads=("data", "space", "supernet", "train", "finetune", "device"),
    inputs=(
        Arg("--parent", "checkpoint of the parent (sub-)supernet"),
        Arg(
            "--split",
            "split JSON of the parent (from `naslid split`); omit to fine-tune the parent's own mask",
            required=False,
        ),
        Arg("--child", "index of the child in the split JSON (0, 1, ...)", required=False, type=int),
        Arg(
            "--epochs",
            "epochs to train (default: finetune.epochs; 0 copies the inherited weights)",
            required=False,
            type=int,
        ),
    ),
    outputs=(
        Arg("--out", "sub-supernet checkpoint to write (.pt)"),
        Arg("--metrics", "per-epoch metrics JSON to write"),
    ),
)


def run(config: dict, inputs, outputs) -> list[dict]:
    if inputs.split is None:
        if inputs.child is not None:
            raise NaslidError("--child needs --split: the split JSON that lists the children")
        mask = sub_id = nonlinear = None  # the parent's own
    else:
        if inputs.child is None:
            raise NaslidError("--split needs --child: which child of the split to fine-tune (0, 1, ...)")
        mask, sub_id, nonlinear = child_of_split(inputs.split, inputs.child)
    if inputs.epochs is not None and inputs.epochs < 0:
        raise NaslidError(f"--epochs must be >= 0, got {inputs.epochs}")
    final = inputs.split is None or _is_final(inputs.split, sub_id)
    return finetune(config, inputs.parent, mask, sub_id, outputs.out, outputs.metrics, nonlinear, inputs.epochs, final)


def _is_final(split: Path, sub_id: str) -> bool:
    """Whether no later round splits this child: its id holds one child index per round of the
    criterion that made the split."""
    record = load_json(split, "split JSON")
    return len(sub_id) >= split_shape(record["criterion"], record["config"])[0]


def finetune(
    config: dict,
    parent: Path,
    mask: np.ndarray | None,
    sub_id: str | None,
    out: Path,
    metrics: Path,
    nonlinear=None,
    epochs: int | None = None,
    final: bool = True,
) -> list[dict]:
    """Fine-tune the sub-supernet (`mask`, `nonlinear` counts; None: the parent's own) of `parent` for
    `epochs` (None: `finetune.epochs`), inheriting the parent's weights, or from a fresh initialisation
    with `finetune.init: scratch` when it is `final` (no later round splits it)."""
    seed_everything(config)
    dataset = load_dataset(config["data"])
    parent_model, ckpt = load_supernet(parent, config)
    if mask is None:
        mask, sub_id, nonlinear = parent_model.mask, ckpt["id"], parent_model.nonlinear
    model = parent_model.from_parent(parent_model, mask, nonlinear)  # checks that the child lies inside the parent
    if config["finetune"]["init"] == "scratch" and final:
        model = build_supernet(config, dataset.num_classes, model.mask, model.nonlinear)
    epochs = config["finetune"]["epochs"] if epochs is None else epochs
    trained = {
        **config,
        "finetune": {**config["finetune"], "epochs": epochs},
    }  # saved with the weights: what was trained
    return train(trained, model, dataset, epochs, config["finetune"]["lr"], out, metrics, sub_id)
