"""Pretrain the supernet with random single-path sampling (RSPS): `naslid pretrain`.

    naslid pretrain --config config/config.yaml --out results/default/s0/pretrain/supernet.pt \
        --metrics results/default/s0/pretrain/metrics.json

The training itself (RSPS steps, resume after every epoch) is `naslid.method.rsps.train`.
"""

from __future__ import annotations

from pathlib import Path

from naslid.data import load_dataset
from naslid.method.rsps import train
from naslid.runtime.device import seed_everything
from naslid.spaces.checkpoint import build_supernet
from naslid.stages import Arg, Stage

STAGE = Stage(
    "pretrain",
    "train the full supernet with random single-path sampling (RSPS)",
    reads=("data", "space", "supernet", "train", "device"),
    outputs=(Arg("--out", "supernet checkpoint to write (.pt)"), Arg("--metrics", "per-epoch metrics JSON to write")),
)


def run(config: dict, inputs, outputs) -> list[dict]:
    return pretrain(config, outputs.out, outputs.metrics)


def pretrain(config: dict, out: Path, metrics: Path) -> list[dict]:
    seed_everything(config)
    dataset = load_dataset(config["data"])
    model = build_supernet(config, dataset.num_classes)
    return train(
        config,
        model,
        dataset,
        config["train"]["epochs"],
        config["train"]["lr"],
        out,
        metrics,
        curriculum=config["train"]["curriculum_epochs"],
    )
