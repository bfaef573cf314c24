"""A (sub-)supernet of the configured search space: built (`build_supernet`, initial weights from
the seed alone), saved with its mask, nonlinear counts and config (`supernet_checkpoint`), and
rebuilt from a checkpoint (`load_supernet`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from naslid.io import load_checkpoint
from naslid.spaces import get_space
from naslid.spaces.masked import MaskedSupernet


def build_supernet(config: dict, num_classes: int, mask: np.ndarray | None = None, nonlinear=None) -> MaskedSupernet:
    """The supernet of the configured search space (`space.name`), restricted to `mask` if given."""
    torch.manual_seed(config["seed"])  # the initial weights depend on the seed alone
    s = config["supernet"]
    return get_space(config).supernet(
        num_classes, mask, affine=s["affine"], track_running_stats=s["track_running_stats"], nonlinear=nonlinear
    )


def supernet_checkpoint(model: MaskedSupernet, config: dict, metrics: list, sub_id: str = "") -> dict:
    return {
        "kind": "supernet",
        "state_dict": model.state_dict(),
        "mask": model.space.mask_to_lists(model.mask),
        "nonlinear": None if model.nonlinear is None else sorted(model.nonlinear),
        "num_classes": model.classifier.out_features,
        "config": config,
        "metrics": metrics,
        "id": sub_id,
    }


def load_supernet(path: str | Path, config: dict | None = None) -> tuple[MaskedSupernet, dict]:
    """Rebuild a (sub-)supernet from its checkpoint; `config` defaults to the one saved in it."""
    ckpt = load_checkpoint(path, "supernet")
    config = config or ckpt["config"]
    model = build_supernet(
        config, ckpt["num_classes"], get_space(config).mask_from_lists(ckpt["mask"]), ckpt.get("nonlinear")
    )
    model.load_state_dict(ckpt["state_dict"])
    return model, ckpt
