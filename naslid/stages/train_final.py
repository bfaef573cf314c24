"""Train the searched architecture from scratch: `naslid train-final` (the last step of paper Table 4).

    naslid train-final --config C --evolve results/<name>/lid/s0/evolve.json --out trained.pt --metrics trained.json

The architecture is the search's best (`--evolve`) or one given as a string (`--arch`); its
stand-alone network (affine BatchNorm, the search space's `standalone`) is trained on the
configured dataset with the `final` recipe: SGD with Nesterov momentum 0.9, linear warm-up then
cosine to 0, label smoothing, the data's augmentation. After every epoch `<out>.resume` is written
atomically (weights, optimiser, scheduler, RNG state, metrics); a restarted run continues from it
and ends identical on CPU, and SIGTERM finishes the epoch, saves and exits 143. The result JSON
holds the architecture, its FLOPs and parameters, and its validation and test top-1 accuracy and error.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from naslid.data import batches, load_dataset
from naslid.errors import NaslidError
from naslid.io import atomic_torch_save, atomic_write_json, load_json
from naslid.runtime.resume import ResumeFile, fingerprint
from naslid.runtime.sgd import SGD, accuracy, sgd_epoch, train_epochs, WarmupCosine
from naslid.spaces.complexity import flops_m, params_mb
from naslid.stages import Arg, Stage

STAGE = Stage(
    "train-final",
    "train the searched architecture from scratch on the configured dataset (Table 4)",
    reads=("final", "data", "space", "device"),
    inputs=(
        Arg("--evolve", "search result (from `naslid evolve`): its best architecture is trained", required=False),
        Arg("--arch", "or an architecture string of the configured space", required=False, type=str),
    ),
    outputs=(
        Arg("--out", "weights of the trained network to write (.pt)"),
        Arg("--metrics", "result JSON to write (accuracy, error, FLOPs, parameters)"),
    ),
)


def run(config: dict, inputs, outputs) -> dict:
    from naslid.spaces import get_space

    arch = searched_arch(get_space(config), inputs.evolve, inputs.arch)
    return train_final(config, arch, outputs.out, outputs.metrics)


def searched_arch(space, evolve_path: Path | None, text: str | None):
    """The architecture to train: `--arch`, or the best of a search result."""
    if (evolve_path is None) == (text is None):
        raise NaslidError("pass exactly one of --evolve (a search result, its best architecture) and --arch (a string)")
    if text is not None:
        return space.parse(text)
    result = load_json(evolve_path, "search result")
    if not isinstance(result, dict) or not result.get("best"):
        raise NaslidError(
            f"{evolve_path} is not a search result with a 'best' list; pass the output of `naslid evolve`"
        )
    return space.parse(result["best"][0]["arch"])


def final_space(config: dict):
    """The search space train-final builds in: the search's, with `final.stem_stride`/`final.strides` if set."""
    from naslid.spaces import get_space

    f = config["final"]
    if (f["stem_stride"], f["strides"]) == (None, None):
        return get_space(config)
    layout = {**config["space"]["proxyless"], **{k: f[k] for k in ("stem_stride", "strides") if f[k] is not None}}
    return get_space({**config, "space": {**config["space"], "proxyless": layout}})


def final_data(config: dict) -> dict:
    """The data section train-final reads: the search's, or `final.dataset` from `final.root`."""
    f = config["final"]
    return config["data"] if f["dataset"] is None else {**config["data"], "dataset": f["dataset"], "root": f["root"]}


def train_final(config: dict, arch, out: Path, metrics_path: Path) -> dict:
    from naslid.runtime.device import resolve_device, seed_everything

    seed_everything(config)
    device = resolve_device(config)
    f = config["final"]
    dataset = load_dataset(final_data(config))
    space = final_space(config)
    arch = space.arch(arch.ops)  # the same ops in the final layout (its strides may differ from the search's)
    model = space.standalone(arch, dataset.num_classes)  # initial weights: config seed
    complexity = {"flops_m": flops_m(model, dataset.train.images.shape[-1]), "params_mb": params_mb(model)}
    model.to(device)
    optimizer = SGD(model.parameters(), lr=f["lr"], momentum=0.9, nesterov=True, weight_decay=f["weight_decay"])
    steps_per_epoch = math.ceil(len(dataset.train) / f["batch_size"])
    scheduler = WarmupCosine(optimizer, f["epochs"] * steps_per_epoch, f["warmup"])
    generator = torch.Generator().manual_seed(config["seed"])
    resume = ResumeFile(f"{out}.resume", "train-final", fingerprint(config, arch.to_str()))

    def forward(images, labels):
        logits = model(images.to(device))
        return logits, torch.nn.functional.cross_entropy(
            logits, labels.to(device), label_smoothing=f["label_smoothing"]
        )

    def one_epoch(epoch: int, state: dict) -> dict:
        data = batches(dataset, dataset.train, f["batch_size"], generator, config["data"]["augment"])
        return {
            "epoch": epoch + 1,
            **sgd_epoch(
                model,
                data,
                forward,
                optimizer,
                scheduler=scheduler,
                total=steps_per_epoch,
                desc=f"train-final epoch {epoch + 1}/{f['epochs']}",
                what=lambda: f"in epoch {epoch + 1} training {arch}; lower final.lr",
            ),
        }

    state = train_epochs(resume, f["epochs"], model, optimizer, scheduler, generator, one_epoch)

    valid, test = accuracy(model, dataset, dataset.valid, device), accuracy(model, dataset, dataset.test, device)
    result = {
        "kind": "train-final",
        "name": config["name"],
        "criterion": config["split"]["criterion"],
        "seed": config["seed"],
        "arch": arch.to_str(),
        **complexity,
        "valid_acc": valid,
        "test_acc": test,
        "test_error": 100.0 - test,
        "epochs": f["epochs"],
        "train_seconds": round(sum(m["seconds"] for m in state["metrics"]), 1),
        "metrics": state["metrics"],
        "config": config,
    }
    model.to("cpu")
    atomic_torch_save(out, {"kind": "final", "state_dict": model.state_dict(), "arch": arch.to_str(), "config": config})
    atomic_write_json(metrics_path, result)
    resume.finish()
    return result
