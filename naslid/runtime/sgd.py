"""The one SGD training loop of naslid: supernets (RSPS), the searched network, ground-truth trainings.

- `sgd_epoch`: one pass over the training batches, one step each (zero the gradients, the caller's
  forward and loss, a non-finite loss is an error, backward, optional gradient clipping, the
  optimiser's and a per-step scheduler's step), with a progress bar and the epoch's loss and accuracy;
- `train_epochs`: epochs of a training that resumes after every epoch from its `<out>.resume`
  (model, optimiser, scheduler, generator and the caller's state): a restarted job continues and
  ends bit-identical on CPU to an uninterrupted one, and SIGTERM stops it after the epoch it is in;
- `warmup_cosine`, the per-step schedule of the stand-alone trainings, and `accuracy`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable

import torch
from tqdm import tqdm

from naslid.data import Dataset, batches
from naslid.errors import TrainingError
from naslid.runtime import preempt
from naslid.runtime.resume import ResumeFile


def sgd_epoch(
    model: torch.nn.Module,
    data,
    forward: Callable,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler=None,
    grad_clip: float = 0.0,
    what: Callable[[], str],
    desc: str = "",
    total: int | None = None,
) -> dict:
    """One epoch: `forward(images, labels) -> (logits, loss)` for each batch of `data`; `scheduler`
    steps after every step (a per-epoch schedule is the caller's). A non-finite loss raises a
    TrainingError that ends with `what()` (the epoch, the architecture and the fix)."""
    model.train()
    start, seen, correct, loss_sum = time.time(), 0, 0, 0.0
    bar = tqdm(data, total=total, desc=desc, leave=False, disable=None)
    for images, labels in bar:
        optimizer.zero_grad(set_to_none=True)
        logits, loss = forward(images, labels)
        if not torch.isfinite(loss):
            raise TrainingError(f"loss became {loss.item()} {what()}")
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        seen += len(labels)
        loss_sum += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels.to(logits.device)).sum().item()
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{100 * correct / seen:.1f}")
    return {
        "train_loss": loss_sum / max(seen, 1),
        "train_acc": 100 * correct / max(seen, 1),
        "seconds": round(time.time() - start, 3),
    }


def train_epochs(
    resume: ResumeFile,
    epochs: int,
    model,
    optimizer,
    scheduler,
    generator: torch.Generator,
    one_epoch: Callable[[int, dict], dict],
    after_epoch: Callable[[dict, dict], None] | None = None,
    state: dict | None = None,
) -> dict:
    """Epochs `done`..`epochs - 1` of a training, `one_epoch(epoch, state) -> record` each; returns the
    state (`done`, `metrics`: the records, and what the caller keeps in it). After every epoch
    `after_epoch(record, state)` runs (metrics files, measurements), then the resume file is written."""
    state = {"done": 0, "metrics": [], **(state or {})}
    saved = resume.load()
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        state = saved["progress"]
        preempt.resumed(resume.stage, "epoch", state["done"], epochs, resume.path)
    for epoch in range(state["done"], epochs):
        record = one_epoch(epoch, state)
        state["metrics"].append(record)
        state["done"] = epoch + 1
        print(json.dumps(record), file=sys.stderr)
        if after_epoch is not None:  # before the snapshot: what it does to the model is what a resume continues from
            after_epoch(record, state)
        resume.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "progress": state,
            }
        )
        if epoch + 1 < epochs:
            preempt.checkpoint_done(f"epoch {epoch + 1} of {epochs} ({resume.path})")
    return state


def warmup_cosine(optimizer: torch.optim.Optimizer, steps: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule: linear warm-up over the first `warmup` fraction of `steps`, then cosine to 0."""
    first = max(1, int(warmup * steps))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda t: (t + 1) / first if t < first else 0.5 * (1 + math.cos(math.pi * (t - first) / max(1, steps - first))),
    )


@torch.no_grad()
def accuracy(model: torch.nn.Module, dataset: Dataset, split, device) -> float:
    model.eval()
    correct = sum(
        (model(images.to(device)).argmax(1).cpu() == labels).sum().item()
        for images, labels in batches(dataset, split, 500, None)
    )
    return 100.0 * correct / len(split)
