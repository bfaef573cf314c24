"""`naslid build-benchmark`: a ground-truth table of stand-alone accuracies on the configured dataset.

    naslid build-benchmark --config config/proxy_benchmark.yaml --out naslid/data/proxy_benchmark.csv

A stratified sample of NB201 architectures (`sample_archs`) is trained stand-alone, each with
`build_benchmark.seeds` seeds, by `build_benchmark.workers` processes of one CPU thread each. Every
finished (architecture, seed) is written at once to `<out>.parts/`, so an interrupted build resumes
where it stopped; when all are done the table is written atomically in the schema of NB201's compact
table (`index, arch, <dataset>_valid, <dataset>_test, params_mb, flops_m`, accuracies in %, means over
seeds) plus the per-seed columns `valid_acc_s<i>` and `test_acc_s<i>`, and `<out stem>.json` records
the command, the resolved config and the build time.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import math
import multiprocessing
import os
import platform
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from naslid.data import Dataset, batches, load_dataset
from naslid.errors import ConfigError
from naslid.io import atomic_write_json, atomic_write_text, load_json
from naslid.runtime import preempt
from naslid.runtime.device import deterministic_algorithms
from naslid.runtime.sgd import SGD, accuracy, sgd_epoch, WarmupCosine
from naslid.spaces.complexity import flops_m, params_mb
from naslid.spaces.nb201 import NB201Space
from naslid.spaces.nb201.encoding import NUM_ARCHS, OPS, Arch, all_archs
from naslid.spaces.ground_truth import ground_truth_of
from naslid.stages import Arg, Stage

# Always in the sample, so a proxy table says where NB201's winners stand: index 6111, NB201's best on
# CIFAR-10 (best cifar10-valid accuracy, tied best test accuracy), and 9930, the best on CIFAR-100.
NB201_OPTIMA = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
)
KINDS = ("conv", "pool", "skip", "none")


STAGE = Stage(
    "build-benchmark",
    "train a stratified sample of architectures stand-alone: a ground-truth table (resumable)",
    reads=("build_benchmark", "data", "space.name"),  # space.name: whose tables
    inputs=(
        Arg(
            "--archs",
            "NB201 indices to train instead of the stratified sample (e.g. to re-check shipped rows)",
            many=True,
            required=False,
            type=int,
        ),
    ),
    outputs=(Arg("--out", "table to write (.csv); its record goes beside it (.json)"),),
)


def run(config: dict, inputs, outputs) -> pd.DataFrame:
    for index in inputs.archs or []:
        Arch.from_index(index)  # a bad index fails before any training
    return build(config, outputs.out, inputs.archs, command_line())


def op_counts(arch: Arch) -> tuple[int, int, int, int]:
    """How many edges hold a convolution (1x1 or 3x3), the pool, a skip, `none`: the sample's strata."""
    names = [OPS[o] for o in arch.ops]
    return (
        sum(n.startswith("nor_conv") for n in names),
        names.count("avg_pool_3x3"),
        names.count("skip_connect"),
        names.count("none"),
    )


def sample_archs(n: int, seed: int) -> list[Arch]:
    """NB201's optima, one architecture from every op-count stratum, then uniform draws.

    There are 84 strata (ways to share 6 edges among conv/pool/skip/none), so every `n` >= 86 covers
    all of them; the rest of the sample is uniform over the remaining architectures, so frequent
    strata are represented in proportion. Sorted by index.
    """
    rng = np.random.default_rng(seed)
    archs = all_archs()
    strata: dict[tuple, list[int]] = {}
    for index, arch in enumerate(archs):
        strata.setdefault(op_counts(arch), []).append(index)
    chosen = [Arch.from_str(text).index for text in NB201_OPTIMA]
    for key in sorted(strata):
        members = [i for i in strata[key] if i not in chosen]
        if members and len(chosen) < n:
            chosen.append(int(rng.choice(members)))
    rest = np.setdiff1d(np.arange(NUM_ARCHS), chosen)
    chosen += rng.choice(rest, size=max(0, n - len(chosen)), replace=False).tolist()
    return [archs[i] for i in sorted(chosen)]


def train_standalone(config: dict, dataset: Dataset, arch: Arch, seed: int) -> dict:
    """Train `arch` from scratch with `seed`; its validation and test accuracy in %, and the time."""
    b = config["build_benchmark"]
    torch.manual_seed(seed)
    model = NB201Space(b["C"], b["N"]).standalone(arch, dataset.num_classes)
    optimizer = SGD(model.parameters(), lr=b["lr"], momentum=0.9, nesterov=True, weight_decay=b["weight_decay"])
    scheduler = WarmupCosine(optimizer, b["epochs"] * math.ceil(len(dataset.train) / b["batch_size"]), b["warmup"])
    generator = torch.Generator().manual_seed(seed)
    start = time.time()

    def forward(images, labels):
        logits = model(images)
        return logits, torch.nn.functional.cross_entropy(logits, labels)

    for epoch in range(b["epochs"]):
        sgd_epoch(
            model,
            batches(dataset, dataset.train, b["batch_size"], generator, config["data"]["augment"]),
            forward,
            optimizer,
            scheduler=scheduler,
            desc=f"{arch.index} seed {seed} epoch {epoch + 1}",
            what=lambda: f"training {arch} (seed {seed}); lower build_benchmark.lr",
        )
    return {
        "index": arch.index,
        "seed": seed,
        "valid_acc": accuracy(model, dataset, dataset.valid, "cpu"),
        "test_acc": accuracy(model, dataset, dataset.test, "cpu"),
        "seconds": round(time.time() - start, 2),
    }


def build(config: dict, out: Path, indices: list[int] | None = None, command: str | None = None) -> pd.DataFrame:
    """Train every (architecture, seed) not yet in `<out>.parts/`, then write the table and its record."""
    b = config["build_benchmark"]
    archs = [Arch.from_index(i) for i in indices] if indices else sample_archs(b["archs"], b["sample_seed"])
    seeds = list(range(b["seeds"]))
    parts = Path(str(out) + ".parts")
    parts.mkdir(parents=True, exist_ok=True)
    _check_parts_config(parts, config)
    todo = [(a.index, s) for a in archs for s in seeds if not _part(parts, a.index, s).is_file()]
    done_before = len(archs) * len(seeds) - len(todo)
    if done_before:
        preempt.resumed("build-benchmark", "training", done_before, len(archs) * len(seeds), parts)

    start = time.time()
    context = multiprocessing.get_context("spawn")  # a clean interpreter per worker: no forked torch state
    with concurrent.futures.ProcessPoolExecutor(
        b["workers"], mp_context=context, initializer=_init_worker, initargs=(config,)
    ) as pool:
        # One training per worker in flight, the next submitted only when one ends: the pool queues
        # what is submitted beyond its workers where cancel() cannot reach it, so after SIGTERM the
        # running trainings finish and are saved, and no new one starts.
        waiting = iter(todo)
        running = {pool.submit(_train_task, *task) for task in itertools.islice(waiting, b["workers"])}
        bar = tqdm(total=len(todo), desc="stand-alone trainings", disable=None)
        while running:
            finished, running = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                atomic_write_json(_part(parts, result["index"], result["seed"]), result)
                bar.update()
            if not preempt.requested():
                running |= {pool.submit(_train_task, *task) for task in itertools.islice(waiting, len(finished))}
        bar.close()
    if preempt.requested():
        done = sum(1 for a in archs for s in seeds if _part(parts, a.index, s).is_file())
        preempt.checkpoint_done(f"{done} of {len(archs) * len(seeds)} trainings, saved in {parts}")
    seconds = time.time() - start

    table, train_seconds = _assemble(config, load_dataset(config["data"]), archs, seeds, parts)
    atomic_write_text(out, table.to_csv(index=False, float_format="%.4f"))
    record = {
        "command": command,
        "config": config,
        "rows": len(table),
        "seeds": seeds,
        "build_seconds_this_sitting": round(seconds, 1),
        "train_seconds_total": round(train_seconds, 1),
        "workers": b["workers"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, one torch thread per worker, "
        f"python {platform.python_version()}, torch {torch.__version__}",
    }
    atomic_write_json(out.with_suffix(".json"), record)
    shutil.rmtree(parts)
    return table


def _part(parts: Path, index: int, seed: int) -> Path:
    return parts / f"{index:05d}-s{seed}.json"


def _check_parts_config(parts: Path, config: dict) -> None:
    """Parts from another training recipe must not be mixed into this table."""
    recipe = {
        "data": config["data"],
        "build_benchmark": {k: v for k, v in config["build_benchmark"].items() if k != "workers"},
    }
    marker = parts / "recipe.json"
    if marker.is_file():
        if load_json(marker, "build recipe") != json.loads(json.dumps(recipe)):
            raise ConfigError(
                f"{parts} holds trainings from another data/build_benchmark config; "
                f"delete that directory to start over, or restore the config it was built with"
            )
    else:
        atomic_write_json(marker, recipe)


def _assemble(
    config: dict, dataset: Dataset, archs: list[Arch], seeds: list[int], parts: Path
) -> tuple[pd.DataFrame, float]:
    """The table from the finished parts, and the training seconds they add up to."""
    b, prefix = config["build_benchmark"], ground_truth_of(config).column_prefix(dataset.name)
    rows, train_seconds = [], 0.0
    for arch in archs:
        results = [load_json(_part(parts, arch.index, s), "training result") for s in seeds]
        train_seconds += sum(r["seconds"] for r in results)
        network = NB201Space(b["C"], b["N"]).standalone(arch, dataset.num_classes)
        row = {
            "index": arch.index,
            "arch": arch.to_str(),
            f"{prefix}_valid": float(np.mean([r["valid_acc"] for r in results])),
            f"{prefix}_test": float(np.mean([r["test_acc"] for r in results])),
            "params_mb": params_mb(network),
            "flops_m": flops_m(network, dataset.train.images.shape[-1]),
        }
        row.update({f"valid_acc_s{s}": r["valid_acc"] for s, r in zip(seeds, results)})
        row.update({f"test_acc_s{s}": r["test_acc"] for s, r in zip(seeds, results)})
        rows.append(row)
    return pd.DataFrame(rows), train_seconds


_WORKER: dict = {}


def _init_worker(config: dict) -> None:
    # SIGTERM goes to every process of a SLURM job: a worker finishes its training, the parent saves it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(1)
    deterministic_algorithms()
    _WORKER["config"] = config
    _WORKER["dataset"] = load_dataset(config["data"])


def _train_task(index: int, seed: int) -> dict:
    return train_standalone(_WORKER["config"], _WORKER["dataset"], Arch.from_index(index), seed)


def command_line() -> str:
    return "naslid " + " ".join(shlex.quote(a) for a in sys.argv[1:])
