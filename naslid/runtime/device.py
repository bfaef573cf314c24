"""The device a job runs on, and seeding: every random choice of a job follows from `seed`,
and on CPU torch's deterministic algorithms make a job repeat bit for bit.
"""

from __future__ import annotations

import torch

from naslid.errors import TrainingError


def resolve_device(config: dict) -> torch.device:
    if config["device"] == "cuda" and not torch.cuda.is_available():
        raise TrainingError(
            "config asks for device 'cuda' but no CUDA device is available; set device: cpu or run on a GPU node"
        )
    return torch.device(config["device"])


def seed_everything(config: dict) -> None:
    torch.manual_seed(config["seed"])
    torch.set_num_threads(max(1, config["threads"]))
    if config["device"] == "cpu":
        deterministic_algorithms()


def deterministic_algorithms() -> None:
    """The eager flag of torch.use_deterministic_algorithms(True): that wrapper also sets the flag of
    torch's compiler, whose import is 2.3 s of every job's start, and naslid compiles nothing."""
    torch._C._set_deterministic_algorithms(True)
