"""Per-epoch time of each stage at a paper config's full shape (NB201, C = 16, N = 5, 32x32 CIFAR-10
input with augmentation), measured per step on this machine and scaled to the paper's epochs,
batches and architectures: what a paper run costs, stage by stage.

A step of each stage is timed on generated CIFAR-10 files (scripts/paper_check.py writes them; the
cost of a step does not depend on the pixels): one RSPS training step (pretraining and fine-tuning:
a sampled path, forward, backward, SGD), one LID and one gradient-matching batch group (one edge,
its 5 ops, one batch), one architecture's estimate (evaluate.batches x evaluate.batch_size images
and the BatchNorm recalibration). The medians of `--repeats` are scaled by the paper config's counts.

    python benchmarks/paper_shape.py [--config config/paper/nb201-cifar10.yaml --threads 1 --repeats 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _record import record  # noqa: E402
from paper_check import write_cifar  # noqa: E402

from naslid.config import load_config  # noqa: E402
from naslid.data import batches, load_dataset  # noqa: E402
from naslid.method.criteria import get_criterion  # noqa: E402
from naslid.method.evaluate import Evaluator  # noqa: E402
from naslid.runtime.sgd import SGD  # noqa: E402
from naslid.spaces.checkpoint import build_supernet  # noqa: E402

TRAIN_IMAGES = {"cifar10": 25_000, "cifar100": 50_000}  # cifar10-valid trains on half of the 50,000


def median_seconds(step, repeats: int) -> float:
    step()  # warm-up: first-call allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=Path("config/paper/nb201-cifar10.yaml"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    paper = load_config([args.config])
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        write_cifar(Path(folder) / "data", paper["data"]["dataset"], np.random.default_rng(0))
        config = load_config(
            [args.config], {"device": "cpu", "threads": args.threads, "data": {"root": f"{folder}/data"}}
        )
        dataset = load_dataset(config["data"])
        model = build_supernet(config, dataset.num_classes)
        generator = torch.Generator().manual_seed(0)
        t = config["train"]
        optimizer = SGD(model.parameters(), lr=t["lr"], momentum=t["momentum"], nesterov=True)
        train_batch = next(batches(dataset, dataset.train, t["batch_size"], generator, config["data"]["augment"]))

        def train_step():
            model.train()
            optimizer.zero_grad()
            images, labels = train_batch
            loss = torch.nn.functional.cross_entropy(model(images, model.sample_arch(generator)), labels)
            loss.backward()
            optimizer.step()

        per = {"train step": median_seconds(train_step, args.repeats)}
        for name in ("lid", "gradient"):
            one = load_config(
                [args.config],
                {"device": "cpu", "threads": args.threads, "data": {"root": f"{folder}/data"}, name: {"batches": 1}},
            )
            criterion = get_criterion(name)
            per[f"{name} batch group"] = median_seconds(
                lambda c=criterion, o=one: c.profile(o, model, dataset, 2, "r", torch.device("cpu")), args.repeats
            )
        evaluator = Evaluator(config, [model], ["r"], dataset, torch.device("cpu"))
        archs = iter([model.sample_arch(generator) for _ in range(args.repeats + 1)])
        per["architecture estimate"] = median_seconds(lambda: evaluator._evaluate(model, next(archs)), args.repeats)

    steps = math.ceil(TRAIN_IMAGES[paper["data"]["dataset"]] / t["batch_size"])
    edges, rounds = len(model.space.EDGES), paper["split"]["rounds"]
    edge_jobs = sum(2**r * (edges - r) for r in range(rounds))  # per criterion that profiles
    ranked = math.ceil(15625 * paper["rank"]["percent"] / 100)
    rows = [
        (
            "pretraining epoch",
            per["train step"] * steps,
            f"{steps} steps of {t['batch_size']}",
            paper["train"]["epochs"],
        ),
        (
            "fine-tuning epoch (one sub-supernet)",
            per["train step"] * steps,
            "the same steps",
            paper["finetune"]["epochs"] * 2**rounds,
        ),
        (
            "LID profile of one edge",
            per["lid batch group"] * paper["lid"]["batches"],
            f"{paper['lid']['batches']} batches of {paper['lid']['batch_size']}",
            edge_jobs,
        ),
        (
            "gradient profile of one edge",
            per["gradient batch group"] * paper["gradient"]["batches"],
            f"{paper['gradient']['batches']} batches of {paper['gradient']['batch_size']}",
            edge_jobs,
        ),
        ("ranking (one criterion)", per["architecture estimate"] * ranked, f"{ranked} architectures", 1),
    ]
    print(
        f"\n{args.config}, {args.threads} thread(s); per step: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in per.items())
    )
    print("\n| unit | CPU seconds | what | units per seed and criterion | CPU hours |\n|---|---|---|---|---|")
    for unit, seconds, what, count in rows:
        print(f"| {unit} | {seconds:.0f} | {what} | {count} | {seconds * count / 3600:.1f} |")
    record(
        f"paper_shape_{paper['name']}_cpu",
        {
            "config": str(args.config),
            "threads": args.threads,
            "repeats": args.repeats,
            "per_step_seconds": per,
            "rows": [dict(zip(("unit", "seconds", "what", "count"), r)) for r in rows],
        },
        {f"paper_{paper['name']}_pretrain_epoch_cpu_s": (round(rows[0][1]), "reported", "s per epoch, 1 CPU thread")},
    )


if __name__ == "__main__":
    main()
