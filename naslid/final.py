"""Train the searched architecture from scratch: `naslid train-final` (the last step of paper Table 4).

    naslid train-final --config C --evolve results/<name>/lid/s0/evolve.json --out final.pt --metrics final.json

The architecture is the search's best (`--evolve`) or one given as a string (`--arch`); its
stand-alone network (affine BatchNorm, the search space's `standalone`) is trained on the
configured dataset with the `final` recipe: SGD with Nesterov momentum 0.9, linear warm-up then
cosine to 0, label smoothing, the data's augmentation. After every epoch `<out>.resume` is written
atomically (weights, optimiser, scheduler, RNG state, metrics); a restarted run continues from it
and ends identical on CPU, and SIGTERM finishes the epoch, saves and exits 143. The result JSON
holds the architecture, its FLOPs and parameters, and its validation and test top-1 accuracy and error.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from naslid import preempt
from naslid.complexity import flops_m, params_mb
from naslid.data import Dataset, batches, load_dataset
from naslid.errors import NaslidError
from naslid.io import atomic_torch_save, atomic_write_json, load_json


def warmup_cosine(optimizer: torch.optim.Optimizer, steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule: linear warm-up over the first `warmup` fraction of `steps`, then cosine to 0."""
    first = max(1, int(warmup * steps))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: (t + 1) / first if t < first
                                             else 0.5 * (1 + math.cos(math.pi * (t - first) / max(1, steps - first))))


def searched_arch(space, evolve_path: Path | None, text: str | None):
    """The architecture to train: `--arch`, or the best of a search result."""
    if (evolve_path is None) == (text is None):
        raise NaslidError("pass exactly one of --evolve (a search result, its best architecture) and --arch (a string)")
    if text is not None:
        return space.parse(text)
    result = load_json(evolve_path, "search result")
    if not isinstance(result, dict) or not result.get("best"):
        raise NaslidError(f"{evolve_path} is not a search result with a 'best' list; pass the output of `naslid evolve`")
    return space.parse(result["best"][0]["arch"])


def final_space(config: dict):
    """The search space train-final builds in: the search's, with `final.stem_stride`/`final.strides` if set."""
    from naslid.space import get_space
    f = config["final"]
    if (f["stem_stride"], f["strides"]) == (None, None):
        return get_space(config)
    layout = {**config["space"]["proxyless"], **{k: f[k] for k in ("stem_stride", "strides") if f[k] is not None}}
    return get_space({**config, "space": {**config["space"], "proxyless": layout}})


def final_data(config: dict) -> dict:
    """The data section train-final reads: the search's, or `final.dataset` from `final.root`."""
    f = config["final"]
    return config["data"] if f["dataset"] is None else {**config["data"], "dataset": f["dataset"], "root": f["root"]}


@torch.no_grad()
def accuracy(model: torch.nn.Module, dataset: Dataset, split, device) -> float:
    model.eval()
    correct = sum((model(images.to(device)).argmax(1).cpu() == labels).sum().item()
                  for images, labels in batches(dataset, split, 500, None))
    return 100.0 * correct / len(split)


def train_final(config: dict, arch, out: Path, metrics_path: Path) -> dict:
    from naslid.train import resolve_device, restore, seed_everything, sgd_step, snapshot
    seed_everything(config)
    device = resolve_device(config)
    f = config["final"]
    dataset = load_dataset(final_data(config))
    space = final_space(config)
    arch = space.arch(arch.ops)  # the same ops in the final layout (its strides may differ from the search's)
    model = space.standalone(arch, dataset.num_classes)  # initial weights: config seed
    complexity = {"flops_m": flops_m(model, dataset.train.images.shape[-1]), "params_mb": params_mb(model)}
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=f["lr"], momentum=0.9, nesterov=True, weight_decay=f["weight_decay"])
    steps_per_epoch = math.ceil(len(dataset.train) / f["batch_size"])
    scheduler = warmup_cosine(optimizer, f["epochs"] * steps_per_epoch, f["warmup"])
    generator = torch.Generator().manual_seed(config["seed"])
    state = {"epoch": 0, "metrics": []}

    resume = Path(str(out) + ".resume")
    fingerprint = hashlib.sha256(json.dumps([config, arch.to_str()], sort_keys=True).encode()).hexdigest()
    state = restore(resume, fingerprint, model, optimizer, scheduler, generator, "train-final", f["epochs"]) or state

    for epoch in range(state["epoch"], f["epochs"]):
        start, seen, loss_sum = time.time(), 0, 0.0
        model.train()
        bar = tqdm(batches(dataset, dataset.train, f["batch_size"], generator, config["data"]["augment"]), total=steps_per_epoch,
                   desc=f"train-final epoch {epoch + 1}/{f['epochs']}", leave=False, disable=None)
        for images, labels in bar:
            loss = torch.nn.functional.cross_entropy(model(images.to(device)), labels.to(device), label_smoothing=f["label_smoothing"])
            sgd_step(model, optimizer, scheduler, loss, f"in epoch {epoch + 1} training {arch}; lower final.lr")
            seen += len(labels)
            loss_sum += loss.item() * len(labels)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        record = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "seconds": round(time.time() - start, 3)}
        state["metrics"].append(record)
        state["epoch"] = epoch + 1
        print(json.dumps(record), file=sys.stderr)
        snapshot(resume, fingerprint, model, optimizer, scheduler, generator, state)
        if epoch + 1 < f["epochs"]:
            preempt.checkpoint_done(f"epoch {epoch + 1} of {f['epochs']} ({resume})")

    valid, test = accuracy(model, dataset, dataset.valid, device), accuracy(model, dataset, dataset.test, device)
    result = {"kind": "train-final", "name": config["name"], "criterion": config["split"]["criterion"], "seed": config["seed"],
              "arch": arch.to_str(), **complexity, "valid_acc": valid, "test_acc": test, "test_error": 100.0 - test,
              "epochs": f["epochs"], "train_seconds": round(sum(m["seconds"] for m in state["metrics"]), 1),
              "metrics": state["metrics"], "config": config}
    model.to("cpu")
    atomic_torch_save(out, {"kind": "final", "state_dict": model.state_dict(), "arch": arch.to_str(), "config": config})
    atomic_write_json(metrics_path, result)
    resume.unlink(missing_ok=True)
    return result
