"""The one SGD training loop of naslid: supernets (RSPS), the searched network, ground-truth trainings.

- `sgd_epoch`: one pass over the training batches, one step each (zero the gradients, the caller's
  forward and loss, a non-finite loss is an error, backward, optional gradient clipping, the
  optimiser's and a per-step scheduler's step), with a progress bar and the epoch's loss and accuracy;
- `train_epochs`: epochs of a training that resumes after every epoch from its `<out>.resume`
  (model, optimiser, scheduler, generator and the caller's state): a restarted job continues and
  ends bit-identical on CPU to an uninterrupted one, and SIGTERM stops it after the epoch it is in;
- `SGD`, `CosinePerEpoch` and `WarmupCosine`: the optimiser and the two schedules, written out
  with torch.optim's arithmetic (see `SGD` for why), and `accuracy`.
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
    optimizer: SGD,
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
        optimizer.zero_grad()
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


class SGD:
    """SGD with momentum, Nesterov momentum and weight decay over one group of parameters: the update
    of torch.optim.SGD's single-tensor path (the one it takes on CPU), written out.

    Why not torch.optim.SGD: its first use imports torch._dynamo (about 2 s on 2 cores), which every
    training job of the workflow would pay at its start, only to mark the optimiser as not compiled;
    naslid compiles nothing. The arithmetic and its order are torch's (no dampening), so the weights
    are bit-identical to torch.optim.SGD's on CPU (tests/test_sgd.py). A parameter without a
    gradient (an op the sampled path did not use) is left alone, its momentum too, as in torch."""

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        self.params = list(params)
        self.param_groups = [{"lr": lr}]  # torch's name: the schedules set the learning rate here
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        """The gradients set to None (torch's default), so an op the next path skips has none."""
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr = self.param_groups[0]["lr"]
        for i, param in enumerate(self.params):
            if param.grad is None:
                continue
            grad = param.grad if self.weight_decay == 0 else param.grad.add(param, alpha=self.weight_decay)
            if self.momentum != 0:
                if self.buffers[i] is None:
                    self.buffers[i] = grad.detach().clone()
                else:
                    self.buffers[i].mul_(self.momentum).add_(grad, alpha=1.0)
                grad = grad.add(self.buffers[i], alpha=self.momentum) if self.nesterov else self.buffers[i]
            param.add_(grad, alpha=-lr)

    def state_dict(self) -> dict:
        return {"lr": self.param_groups[0]["lr"], "buffers": list(self.buffers)}

    def load_state_dict(self, state: dict) -> None:
        self.param_groups[0]["lr"] = state["lr"]
        self.buffers = [b if b is None else b.to(p.device) for b, p in zip(state["buffers"], self.params)]


class _Schedule:
    """A learning-rate schedule over an optimiser's `param_groups[0]["lr"]`, stepped once per epoch or
    per step by its caller; `state_dict` for the resume file."""

    def __init__(self, optimizer: SGD):
        self.optimizer, self.base_lr, self.last_epoch = optimizer, optimizer.param_groups[0]["lr"], 0

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.param_groups[0]["lr"] = self.lr(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch = state["last_epoch"]


class CosinePerEpoch(_Schedule):
    """Cosine annealing from the optimiser's learning rate to `eta_min` over `t_max` steps, computed as
    torch.optim.lr_scheduler.CosineAnnealingLR computes it (each value from the previous one), so the
    learning rates are the same floats."""

    def __init__(self, optimizer: SGD, t_max: int, eta_min: float):
        super().__init__(optimizer)
        self.t_max, self.eta_min = t_max, eta_min

    def lr(self, previous: float) -> float:
        e, t = self.last_epoch, self.t_max
        if (e - 1 - t) % (2 * t) == 0:  # past the end: the cosine's restart, as torch
            return previous + (self.base_lr - self.eta_min) * (1 - math.cos(math.pi / t)) / 2
        ratio = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
        return ratio * (previous - self.eta_min) + self.eta_min


class WarmupCosine(_Schedule):
    """Per-step schedule: linear warm-up over the first `warmup` fraction of `steps`, then cosine to 0
    (the learning rate times a factor of the step, as torch's LambdaLR)."""

    def __init__(self, optimizer: SGD, steps: int, warmup: float):
        super().__init__(optimizer)
        self.first, self.steps = max(1, int(warmup * steps)), steps
        optimizer.param_groups[0]["lr"] = self.lr(None)

    def lr(self, previous) -> float:
        t, first = self.last_epoch, self.first
        factor = (
            (t + 1) / first if t < first else 0.5 * (1 + math.cos(math.pi * (t - first) / max(1, self.steps - first)))
        )
        return self.base_lr * factor


@torch.no_grad()
def accuracy(model: torch.nn.Module, dataset: Dataset, split, device) -> float:
    model.eval()
    correct = sum(
        (model(images.to(device)).argmax(1).cpu() == labels).sum().item()
        for images, labels in batches(dataset, split, 500, None)
    )
    return 100.0 * correct / len(split)
