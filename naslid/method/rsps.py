"""Random single-path sampling (RSPS) training of a (sub-)supernet: what pretrain and finetune run.

Each step samples one architecture inside the mask (single path) and trains it on one batch: SGD
with Nesterov momentum, cosine learning rate per epoch, gradient clipping (NB201's RSPS recipe),
in naslid's one training loop (`naslid.runtime.sgd`). After every epoch the job can resume from
`<out>.resume` and ends bit-identical to an uninterrupted run on CPU. The final checkpoint holds the
weights, the mask and the resolved config.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from naslid.data import Dataset, batches
from naslid.io import atomic_torch_save, atomic_write_json
from naslid.runtime.device import resolve_device
from naslid.runtime.resume import ResumeFile, fingerprint
from naslid.runtime.sgd import SGD, CosinePerEpoch, sgd_epoch, train_epochs
from naslid.spaces.checkpoint import supernet_checkpoint
from naslid.spaces.masked import MaskedSupernet, batch_statistics


def train(
    config: dict,
    model: MaskedSupernet,
    dataset: Dataset,
    epochs: int,
    lr: float,
    out: Path,
    metrics_path: Path,
    sub_id: str = "",
    on_epoch=None,
    curriculum: int = 0,
) -> list[dict]:
    """Train `model` for `epochs` and write the final checkpoint to `out`; resumes from `<out>.resume`.

    The first `curriculum` epochs sample only the ops with weights (`MaskedSupernet.weighted_mask`).

    `on_epoch(record, model)`, if given, is called after every epoch (scripts that screen recipes
    measure the supernet along one schedule with it)."""
    device = resolve_device(config)
    tcfg = config["train"]
    model.to(device)
    optimizer = SGD(
        model.parameters(),
        lr=lr,
        momentum=tcfg["momentum"],
        nesterov=tcfg["nesterov"] and tcfg["momentum"] > 0,
        weight_decay=tcfg["weight_decay"],
    )
    scheduler = CosinePerEpoch(optimizer, t_max=max(1, epochs), eta_min=min(tcfg["lr_min"], lr))
    generator = torch.Generator().manual_seed(config["seed"])
    region = [model.space.mask_to_lists(model.mask)] + (
        [sorted(model.nonlinear)] if model.nonlinear is not None else []
    )
    resume = ResumeFile(
        f"{out}.resume", "train", fingerprint(config, epochs, lr, sub_id, *region, tensors=model.state_dict().values())
    )
    switch = config["supernet"]["sampling"] == "switch"

    def one_epoch(epoch: int, state: dict) -> dict:
        within = model.weighted_mask() if epoch < curriculum else None
        arch = None

        def forward(images, labels):
            nonlocal arch
            previous = model.space.arch(state["previous"]) if switch and state["previous"] else None
            arch = model.sample_arch(generator, previous, within)
            state["previous"] = list(arch.ops)
            return (logits := model(images.to(device), arch)), torch.nn.functional.cross_entropy(
                logits, labels.to(device)
            )

        data = batches(dataset, dataset.train, tcfg["batch_size"], generator, config["data"]["augment"])
        record = sgd_epoch(
            model,
            data,
            forward,
            optimizer,
            grad_clip=tcfg["grad_clip"],
            desc=f"epoch {epoch + 1}/{epochs}",
            total=math.ceil(len(dataset.train) / tcfg["batch_size"]),
            what=lambda: f"in epoch {epoch + 1} (arch {arch}); lower train.lr or check the data",
        )
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], **record}
        scheduler.step()
        return record | _evaluate(config, model, dataset, device, epoch)

    def after_epoch(record: dict, state: dict) -> None:
        if on_epoch is not None:
            on_epoch(record, model)
        atomic_write_json(
            metrics_path, {"id": sub_id, "epochs_done": state["done"], "epochs": epochs, "metrics": state["metrics"]}
        )

    state = train_epochs(
        resume, epochs, model, optimizer, scheduler, generator, one_epoch, after_epoch, {"previous": None}
    )
    model.to("cpu")
    atomic_torch_save(out, supernet_checkpoint(model, config, state["metrics"], sub_id))
    atomic_write_json(
        metrics_path, {"id": sub_id, "epochs_done": epochs, "epochs": epochs, "metrics": state["metrics"]}
    )
    resume.finish()
    return state["metrics"]


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
