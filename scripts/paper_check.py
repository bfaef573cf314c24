#!/usr/bin/env python3
"""Run a paper config at its full shape on CPU: every job of its DAG, only the budgets shrunk.

    scripts/paper-check.sh config/paper/nb201-cifar10.yaml          # (make paper-check runs this one)
    scripts/paper-check.sh config/paper/proxyless-imagenet.yaml --keep

The paper config keeps its space (C = 16, N = 5 on 32x32 input, or ProxylessNAS's 21 layers), its
rounds and criteria, its profiling per edge, its augmentation, its ground truth (the shipped NB201
table, top-1 % protocol) and its train-final on ImageNet. An overlay (`SHRUNK`, below) shrinks only
what sets how long the run takes, each key for a reason that leaves the code paths the same; one
seed. The dataset is generated in its real layout (CIFAR's python pickles, ImageNet's train/ and val/
folders of JPEG files) under the run's folder. Then it checks that every expected output exists,
that each criterion's splits made the paper's number of sub-supernets, and that the report builds.

It prints the job count, the wall time and the sub-supernets per criterion, and writes them to
results/paper-check-<name>/check.json. A check that fails says what is missing and exits 1.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from naslid.config import load_config  # noqa: E402
from naslid.method.criteria import split_shape  # noqa: E402
from naslid.stages.tables import outputs as table_outputs  # noqa: E402

# What the overlay shrinks, and why each is safe: it changes how long a job takes, not which code runs.
SHRUNK = {
    "device": "cpu",  # the check runs where no GPU is; `device: cuda` is the same code on another device
    "threads": 1,  # two jobs at once on 2 cores
    "train": {"epochs": 1, "eval_batches": 1},  # one epoch runs every line of the training loop
    "finetune": {"epochs": 1},  # likewise for each sub-supernet
    # 2 batch groups of 24 images: the averaging over batches and the tie record still run, and 24
    # images leave each one k = 20 neighbours
    "lid": {"batches": 2, "batch_size": 24},
    # gradient matching needs no neighbours: 2 batch groups of 8 images (at 24, its profiles of
    # ProxylessNAS's 21 layers, 7 forward and backward passes each, took 17 min a sub-supernet)
    "gradient": {"batches": 2, "batch_size": 8},
    "evaluate": {"batches": 1, "batch_size": 32},  # each architecture still estimated on real batches
    "evolve": {"generations": 1},  # one generation: the population, mutation and crossover all run
    # 64 images per split: one training step of 64, and every batch size above fits (NASWOT's batch is
    # min(128, limit): its kernel, 64 x 64 instead of 128 x 128 over 2.6 M units, is 4 x cheaper)
    "data": {"limit": 64},
    "final": {"epochs": 1, "batch_size": 16},  # train-final on ImageNet: one epoch over the generated folders
    "workflow": {
        "seeds": [0],
        # One profiling job per sub-supernet instead of one per (sub-supernet, edge): the same profiles
        # of the same edges, in 45 jobs instead of 270 (each job's start at this shape, about 7 s of
        # CPU, was two thirds of the check). The per-edge rule runs in the tests' tiny workflow.
        "profile_jobs": "sub-supernet",
        "resources": {
            group: {"threads": 1, "mem_mb": 4000, "runtime": 60, "gpu": 0}
            for group in ("train", "profile", "search", "light")
        },
    },
}
CIFAR_IMAGES = {"train": 1000, "test": 600}  # per split; a training file is a fifth of the train split
IMAGENET = {"classes": 4, "train": 12, "val": 4}  # JPEG files per class


def write_cifar(root: Path, dataset: str, rng: np.random.Generator) -> None:
    """CIFAR's python layout with random images: cifar-10-batches-py/ (data_batch_1..5, test_batch,
    batches.meta) or cifar-100-python/ (train, test, meta), as torchvision extracts them."""

    def batch(n: int, classes: int, label_key: str) -> dict:
        return {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: rng.integers(0, classes, n).tolist(),
        }

    def dump(path: Path, content: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(content, handle)

    if dataset == "cifar10":
        folder = root / "cifar-10-batches-py"
        for i in range(1, 6):
            dump(folder / f"data_batch_{i}", batch(CIFAR_IMAGES["train"] // 5, 10, "labels"))
        dump(folder / "test_batch", batch(CIFAR_IMAGES["test"], 10, "labels"))
        dump(folder / "batches.meta", {"label_names": [f"class{c}" for c in range(10)]})
    else:
        folder = root / "cifar-100-python"
        dump(folder / "train", batch(CIFAR_IMAGES["train"], 100, "fine_labels"))
        dump(folder / "test", batch(CIFAR_IMAGES["test"], 100, "fine_labels"))
        dump(folder / "meta", {"fine_label_names": [f"class{c}" for c in range(100)]})


def write_imagenet(root: Path, rng: np.random.Generator) -> None:
    """ImageNet's layout: train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, small random JPEG files of
    varied sizes (the loader resizes the shorter side to 256 and crops 224)."""
    from PIL import Image

    for split in ("train", "val"):
        for c in range(IMAGENET["classes"]):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(IMAGENET[split]):
                h, w = rng.integers(180, 320, 2)
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"n{c:08d}_{i}.JPEG", quality=80)


def overlay(config: dict, data: Path) -> dict:
    """SHRUNK, plus the generated datasets' folders and the run's own name."""
    settings = copy.deepcopy(SHRUNK)
    settings["name"] = f"paper-check-{config['name']}"
    settings["data"]["root"] = str(data / config["data"]["dataset"])
    if config["final"]["dataset"] is not None:
        settings["final"]["root"] = str(data / config["final"]["dataset"])
    return settings


def expected_sub_supernets(config: dict) -> dict[str, int]:
    """The paper's number of final sub-supernets per criterion (children per split ** rounds)."""
    expected = {}
    for criterion in config["workflow"]["criteria"]:
        rounds, children = split_shape(criterion, config)
        expected[criterion] = children**rounds
    return expected


def check(config: dict, results: Path) -> tuple[dict[str, int], list[str]]:
    """The final sub-supernets per criterion, and what is missing."""
    missing = []
    tables, figures = table_outputs(config)
    for name in [f"tables/table{t}.{ext}" for t in tables for ext in ("md", "csv", "tex")] + [
        f"figures/{f}.png" for f in figures
    ]:
        if not (results / name).is_file():
            missing.append(name)
    found = {}
    for criterion, count in expected_sub_supernets(config).items():
        experiment = results / criterion / "s0"
        finals = sorted((experiment / "final").glob("r*.pt"))
        found[criterion] = len(finals)
        if len(finals) != count:
            missing.append(f"{criterion}: {len(finals)} final sub-supernets instead of {count}")
        if criterion != "none" and not (experiment / "split" / "r.json").is_file():
            missing.append(f"{criterion}/s0/split/r.json")
        done = ["evolve.json"] + (
            ["rank.json", "query.json"] if config["benchmark"]["kind"] != "none" else ["trained.json"]
        )
        missing += [f"{criterion}/s0/{f}" for f in done if not (experiment / f).is_file()]
    return found, missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path, help="a paper config, e.g. config/paper/nb201-cifar10.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep a finished check's results (default: start afresh)")
    parser.add_argument(
        "--dry-run", action="store_true", help="generate the data and list the jobs the check would run"
    )
    args = parser.parse_args(argv)
    if not args.config.is_file():
        parser.error(f"config {args.config} does not exist; pass a file of config/paper/")
    config = load_config([args.config])
    name = f"paper-check-{config['name']}"
    results = REPO / "results" / name
    if results.exists() and not (args.keep or args.dry_run):
        shutil.rmtree(results)
    data = results / "data"
    rng = np.random.default_rng(0)
    datasets = {config["data"]["dataset"], config["final"]["dataset"]} - {None}
    for dataset in datasets:
        if not (data / dataset).is_dir():
            write_imagenet(data / dataset, rng) if dataset == "imagenet" else write_cifar(data / dataset, dataset, rng)
    (results / "overlay.yaml").write_text(yaml.safe_dump(overlay(config, data.relative_to(REPO)), sort_keys=False))
    checked = load_config([args.config, results / "overlay.yaml"])

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    files = ["--configfile", str(args.config), str((results / "overlay.yaml").relative_to(REPO))]
    workflow = [str(REPO / "scripts" / "run-workflow.sh"), "--cores", str(args.cores), *files, "--quiet", "rules"]
    if args.dry_run:
        return subprocess.run([*workflow, "--dry-run"], cwd=REPO, env=env).returncode
    start = time.monotonic()
    run = subprocess.run(workflow, cwd=REPO, env=env)
    seconds = time.monotonic() - start
    if run.returncode != 0:
        print(f"paper-check: the workflow failed (exit {run.returncode}) after {seconds:.0f} s", file=sys.stderr)
        return 1
    report = subprocess.run(
        ["snakemake", *files, "--report", str(results / "report.html")], cwd=REPO, env=env, capture_output=True
    )
    jobs = len(list(results.rglob("*.tsv")))  # every job records its time (Snakemake's benchmark:)
    found, missing = check(checked, results)
    if report.returncode != 0 or not (results / "report.html").is_file():
        missing.append("report.html (snakemake --report failed)")
    summary = {"config": str(args.config), "jobs": jobs, "seconds": round(seconds), "sub_supernets": found}
    (results / "check.json").write_text(json.dumps(summary | {"missing": missing}, indent=2))
    print(json.dumps(summary, indent=2))
    if missing:
        print("paper-check: FAILED; missing or wrong:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    print(f"paper-check: {args.config} passed: {jobs} jobs in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
