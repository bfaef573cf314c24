"""Supernet-estimated accuracy of an architecture, with the sub-supernet that holds it (routing).

After splitting, the final sub-supernets' masks partition the space: every architecture lies in
exactly one of them (`route`), and is evaluated with that sub-supernet's weights. The estimate is
the accuracy on the first `evaluate.batches` validation batches (the same images for every
architecture). BatchNorm, by `evaluate.bn`:
- `batch` (default): normalise with each validation batch's own statistics, the usual one-shot
  evaluation; a supernet's running statistics mix every sampled path and fit none of them;
- `recalibrate`: reset the running statistics, forward `evaluate.recalibration_batches` training
  batches through the architecture, then evaluate in eval mode (slower, per architecture).
Estimates are cached by architecture for the life of the `Evaluator`, and one stage may lend its
estimates to another (`reuse`: evolve reads rank's) when both scored with the same sub-supernets,
evaluation settings and data (`scoring_identity`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from naslid.data import Dataset, batches
from naslid.errors import NaslidError
from naslid.io import load_json
from naslid.spaces.masked import MaskedSupernet, batch_statistics


def route(arch, masks: list[np.ndarray], space, nonlinear: list | None = None) -> int:
    """The position of the one sub-supernet (mask, and nonlinear counts if given) that contains `arch`;
    an error if none or several do."""
    nonlinear = nonlinear or [None] * len(masks)
    holders = [
        i
        for i, (mask, counts) in enumerate(zip(masks, nonlinear))
        if space.mask_contains(mask, arch) and (counts is None or space.nonlinear_count(arch) in counts)
    ]
    if len(holders) != 1:
        raise NaslidError(
            f"architecture {arch} lies in {len(holders)} sub-supernets, not exactly one; "
            f"the sub-supernets given do not partition the space (pass every final sub-supernet of one split)"
        )
    return holders[0]


class Evaluator:
    def __init__(
        self, config: dict, supernets: list[MaskedSupernet], ids: list[str], dataset: Dataset, device: torch.device
    ):
        self.config, self.supernets, self.ids = config, supernets, ids
        self.space = supernets[0].space
        self.masks = [s.mask for s in supernets]
        self.nonlinear = [s.nonlinear for s in supernets]
        self.dataset, self.device = dataset, device
        ecfg = config["evaluate"]
        self.valid = list(islice(batches(dataset, dataset.valid, ecfg["batch_size"], None), ecfg["batches"]))
        self.calibration = list(
            islice(
                batches(dataset, dataset.train, ecfg["batch_size"], torch.Generator().manual_seed(config["seed"])),
                ecfg["recalibration_batches"],
            )
        )
        self.cache: dict[tuple, float] = {}
        self.identity = scoring_identity(config, supernets)  # what the estimates depend on
        self.computed = 0  # estimates this evaluator computed (not cached, not lent by `reuse`)
        for supernet in supernets:
            supernet.to(device)

    def sub_id(self, arch) -> str:
        return self.ids[route(arch, self.masks, self.space, self.nonlinear)]

    def __call__(self, arch) -> float:
        """Estimated validation accuracy of `arch`, in %."""
        if arch.ops not in self.cache:
            self.computed += 1
            self.cache[arch.ops] = self._evaluate(
                self.supernets[route(arch, self.masks, self.space, self.nonlinear)], arch
            )
        return self.cache[arch.ops]

    def reuse(self, path: Path) -> None:
        """Take the estimates of a rank result scored with the same sub-supernets, settings and data;
        a result scored otherwise is ignored, with a message, and every architecture is evaluated."""
        ranked = load_json(path, "rank result")
        if ranked.get("scored_with") != self.identity:
            print(
                f"not reusing the estimates of {path}: they were scored with other sub-supernets, "
                "evaluation settings or data",
                file=sys.stderr,
            )
            return
        for entry in ranked["estimates"]:
            self.cache[tuple(self.space.parse(entry["arch"]).ops)] = entry["estimate"]
        print(f"reusing the {len(ranked['estimates'])} estimates of {path}", file=sys.stderr)

    @torch.no_grad()
    def _evaluate(self, model: MaskedSupernet, arch) -> float:
        if self.config["evaluate"]["bn"] == "batch":
            with batch_statistics(model):
                return self._accuracy(model, arch)
        saved = {name: buf.clone() for name, buf in model.named_buffers()}
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        momenta = [m.momentum for m in norms]
        try:
            for module in norms:
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the calibration batches
            model.train()
            for images, _ in self.calibration:
                model(images.to(self.device), arch)
            model.eval()
            return self._accuracy(model, arch)
        finally:
            for name, buf in model.named_buffers():
                buf.copy_(saved[name])
            for module, momentum in zip(norms, momenta):
                module.momentum = momentum

    def _accuracy(self, model: MaskedSupernet, arch) -> float:
        correct = seen = 0
        for images, labels in self.valid:
            correct += (model(images.to(self.device), arch).argmax(1).cpu() == labels).sum().item()
            seen += len(labels)
        return 100.0 * correct / seen


def scoring_identity(config: dict, supernets: list[MaskedSupernet]) -> str:
    """What an estimate depends on: the sub-supernets' weights and masks (not their files' bytes,
    which also hold the config's paths), the evaluation settings and the data."""
    digest = hashlib.sha256()
    for supernet in supernets:
        digest.update(repr(supernet.space.mask_to_lists(supernet.mask)).encode())
        digest.update(repr(None if supernet.nonlinear is None else sorted(supernet.nonlinear)).encode())
        for name, tensor in supernet.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return json.dumps([digest.hexdigest(), config["evaluate"], config["data"]], sort_keys=True)


def load_evaluator(config: dict, checkpoints: list[Path]) -> Evaluator:
    """An evaluator over the final sub-supernets in `checkpoints` (one checkpoint: no split)."""
    from naslid.data import load_dataset
    from naslid.runtime.device import resolve_device
    from naslid.spaces.checkpoint import load_supernet

    device = resolve_device(config)
    loaded = [load_supernet(path, config) for path in checkpoints]
    return Evaluator(config, [m for m, _ in loaded], [c["id"] for _, c in loaded], load_dataset(config["data"]), device)
