"""RSPS training of a (sub-)supernet: `naslid pretrain` and `naslid finetune`.

    naslid pretrain --config config/config.yaml --out results/default/supernet.pt --metrics results/default/pretrain.json

Each step samples one architecture inside the mask (single path) and trains it on one batch:
SGD with Nesterov momentum, cosine learning rate, gradient clipping (NB201's RSPS recipe). After
every epoch a resume checkpoint `<out>.resume` (model, optimiser, scheduler, RNG state, epoch,
metrics) is written atomically; a restarted run continues from it and ends bit-identical to an
uninterrupted run on CPU. The final checkpoint holds the weights, the mask and the resolved config.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from naslid import preempt
from naslid.data import Dataset, batches, load_dataset
from naslid.errors import TrainingError
from naslid.io import atomic_torch_save, atomic_write_json, load_checkpoint
from naslid.space import get_space
from naslid.supernet import MaskedSupernet, batch_statistics


def resolve_device(config: dict) -> torch.device:
    if config["device"] == "cuda" and not torch.cuda.is_available():
        raise TrainingError("config asks for device 'cuda' but no CUDA device is available; set device: cpu or run on a GPU node")
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


def build_supernet(config: dict, num_classes: int, mask: np.ndarray | None = None, nonlinear=None) -> MaskedSupernet:
    """The supernet of the configured search space (`space.name`), restricted to `mask` if given."""
    torch.manual_seed(config["seed"])  # the initial weights depend on the seed alone
    s = config["supernet"]
    return get_space(config).supernet(num_classes, mask, affine=s["affine"], track_running_stats=s["track_running_stats"],
                                      nonlinear=nonlinear)


def supernet_checkpoint(model: MaskedSupernet, config: dict, metrics: list, sub_id: str = "") -> dict:
    return {"kind": "supernet", "state_dict": model.state_dict(), "mask": model.space.mask_to_lists(model.mask),
            "nonlinear": None if model.nonlinear is None else sorted(model.nonlinear),
            "num_classes": model.classifier.out_features, "config": config, "metrics": metrics, "id": sub_id}


def load_supernet(path: str | Path, config: dict | None = None) -> tuple[MaskedSupernet, dict]:
    """Rebuild a (sub-)supernet from its checkpoint; `config` defaults to the one saved in it."""
    ckpt = load_checkpoint(path, "supernet")
    config = config or ckpt["config"]
    model = build_supernet(config, ckpt["num_classes"], get_space(config).mask_from_lists(ckpt["mask"]), ckpt.get("nonlinear"))
    model.load_state_dict(ckpt["state_dict"])
    return model, ckpt


def train(config: dict, model: MaskedSupernet, dataset: Dataset, epochs: int, lr: float, out: Path,
          metrics_path: Path, sub_id: str = "", on_epoch=None, curriculum: int = 0) -> list[dict]:
    """Train `model` for `epochs` and write the final checkpoint to `out`; resumes from `<out>.resume`.

    The first `curriculum` epochs sample only the ops with weights (`MaskedSupernet.weighted_mask`).

    `on_epoch(record, model)`, if given, is called after every epoch (scripts that screen recipes
    measure the supernet along one schedule with it)."""
    device = resolve_device(config)
    tcfg = config["train"]
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=tcfg["momentum"],
                                nesterov=tcfg["nesterov"] and tcfg["momentum"] > 0, weight_decay=tcfg["weight_decay"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs), eta_min=min(tcfg["lr_min"], lr))
    generator = torch.Generator().manual_seed(config["seed"])
    state = {"epoch": 0, "metrics": [], "previous": None}

    resume = Path(str(out) + ".resume")
    fingerprint = _fingerprint(config, model, epochs, lr, sub_id)
    state = restore(resume, fingerprint, model, optimizer, scheduler, generator, "train", epochs) or state

    for epoch in range(state["epoch"], epochs):
        within = model.weighted_mask() if epoch < curriculum else None
        record = _train_epoch(config, model, dataset, optimizer, generator, device, epoch, epochs, state, within)
        scheduler.step()
        record.update(_evaluate(config, model, dataset, device, epoch))
        state["metrics"].append(record)
        state["epoch"] = epoch + 1
        print(json.dumps(record), file=sys.stderr)
        if on_epoch is not None:
            on_epoch(record, model)
        snapshot(resume, fingerprint, model, optimizer, scheduler, generator, state)
        atomic_write_json(metrics_path, {"id": sub_id, "epochs_done": epoch + 1, "epochs": epochs, "metrics": state["metrics"]})
        if epoch + 1 < epochs:
            preempt.checkpoint_done(f"epoch {epoch + 1} of {epochs} ({resume})")

    model.to("cpu")
    atomic_torch_save(out, supernet_checkpoint(model, config, state["metrics"], sub_id))
    atomic_write_json(metrics_path, {"id": sub_id, "epochs_done": epochs, "epochs": epochs, "metrics": state["metrics"]})
    resume.unlink(missing_ok=True)
    return state["metrics"]


def restore(resume: Path, fingerprint: str, model, optimizer, scheduler, generator, stage: str, epochs: int) -> dict | None:
    """Load a training's `<out>.resume` into the given objects and return its state, if the file
    exists and was written by the same run (`fingerprint`); otherwise None (start from scratch).
    A resume is announced as `resumed <stage> at epoch k of <epochs>` (`preempt.resumed`)."""
    if not resume.is_file():
        return None
    saved = load_checkpoint(resume, "resume")
    if saved.get("fingerprint") != fingerprint:
        print(f"ignoring {resume}: it belongs to another config, architecture or initial weights", file=sys.stderr)
        return None
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    generator.set_state(saved["generator"])
    preempt.resumed(stage, "epoch", saved["state"]["epoch"], epochs, resume)
    return saved["state"]


def snapshot(resume: Path, fingerprint: str, model, optimizer, scheduler, generator, state: dict) -> None:
    """Write `<out>.resume` atomically: everything `restore` needs to go on bit-identically."""
    atomic_torch_save(resume, {"kind": "resume", "fingerprint": fingerprint, "model": model.state_dict(),
                               "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                               "generator": generator.get_state(), "state": state})


def sgd_step(model, optimizer, scheduler, loss: torch.Tensor, what: str) -> None:
    """One step on `loss`; a non-finite loss is an error naming `what` was trained and the fix."""
    if not torch.isfinite(loss):
        raise TrainingError(f"loss became {loss.item()} {what}")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()


def _fingerprint(config: dict, model: MaskedSupernet, epochs: int, lr: float, sub_id: str) -> str:
    """Identifies a training run: same config, schedule and initial weights."""
    region = [model.space.mask_to_lists(model.mask)] + ([sorted(model.nonlinear)] if model.nonlinear is not None else [])
    digest = hashlib.sha256(json.dumps([config, epochs, lr, sub_id, *region], sort_keys=True).encode())
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _train_epoch(config, model, dataset, optimizer, generator, device, epoch, epochs, state, within=None) -> dict:
    tcfg = config["train"]
    switch = config["supernet"]["sampling"] == "switch"
    model.train()
    start, seen, correct, loss_sum = time.time(), 0, 0, 0.0
    steps = math.ceil(len(dataset.train) / tcfg["batch_size"])
    bar = tqdm(batches(dataset, dataset.train, tcfg["batch_size"], generator, config["data"]["augment"]),
               total=steps, desc=f"epoch {epoch + 1}/{epochs}", leave=False, disable=None)
    for images, labels in bar:
        previous = model.space.arch(state["previous"]) if switch and state["previous"] else None
        arch = model.sample_arch(generator, previous, within)
        state["previous"] = list(arch.ops)
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        logits = model(images, arch)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        if not torch.isfinite(loss):
            raise TrainingError(f"loss became {loss.item()} in epoch {epoch + 1} (arch {arch}); lower train.lr or check the data")
        loss.backward()
        if tcfg["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
        optimizer.step()
        seen += len(labels)
        loss_sum += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{100 * correct / seen:.1f}")
    return {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": loss_sum / max(seen, 1),
            "train_acc": 100 * correct / max(seen, 1), "seconds": round(time.time() - start, 3)}


@torch.no_grad()
def _evaluate(config, model, dataset, device, epoch) -> dict:
    """Mean accuracy of randomly sampled architectures on a few validation batches (one arch per batch)."""
    n_batches = config["train"]["eval_batches"]
    if n_batches == 0:
        return {}
    generator = torch.Generator().manual_seed(config["seed"] * 1000 + epoch)  # independent of the training stream
    correct = seen = 0
    with batch_statistics(model):
        for b, (images, labels) in enumerate(batches(dataset, dataset.valid, config["train"]["batch_size"], generator)):
            if b == n_batches:
                break
            logits = model(images.to(device), model.sample_arch(generator))
            correct += (logits.argmax(1).cpu() == labels).sum().item()
            seen += len(labels)
    return {"valid_acc": 100 * correct / max(seen, 1)}


def pretrain(config: dict, out: Path, metrics: Path) -> list[dict]:
    seed_everything(config)
    dataset = load_dataset(config["data"])
    model = build_supernet(config, dataset.num_classes)
    return train(config, model, dataset, config["train"]["epochs"], config["train"]["lr"], out, metrics,
                 curriculum=config["train"]["curriculum_epochs"])


def finetune(config: dict, parent: Path, mask: np.ndarray, sub_id: str, out: Path, metrics: Path,
             nonlinear=None) -> list[dict]:
    """Fine-tune the sub-supernet (`mask`, `nonlinear` counts) of `parent`, inheriting the parent's
    weights, or from a fresh initialisation with `finetune.init: scratch`."""
    seed_everything(config)
    dataset = load_dataset(config["data"])
    parent_model, _ = load_supernet(parent, config)
    model = parent_model.from_parent(parent_model, mask, nonlinear)  # checks that the child lies inside the parent
    if config["finetune"]["init"] == "scratch":
        model = build_supernet(config, dataset.num_classes, model.mask, model.nonlinear)
    return train(config, model, dataset, config["finetune"]["epochs"], config["finetune"]["lr"], out, metrics, sub_id)
