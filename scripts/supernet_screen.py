"""Screen supernet pretraining recipes on the embedded default: does the supernet rank the proxy table?

    python scripts/supernet_screen.py --recipe baseline --recipe "N=1" --out /tmp/screen.json

For each recipe (a name from RECIPES), pretrain the supernet of the embedded default with the
recipe's overrides, then estimate every architecture of the proxy table with it (the `none`
criterion's estimate before fine-tuning) and report Kendall tau against the table's ground truth
at several checkpoints of the schedule, beside the parameter count's tau on the same architectures.
One tau is one training's: the issue that asked for this screen saw tau swing from 0.43 to 0.06
between two checkpoints of one run, so the screen reports every checkpoint and every seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import scipy.stats
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naslid.spaces.nb201.ground_truth import open_benchmark  # noqa: E402
from naslid.config import load_config  # noqa: E402
from naslid.data import load_dataset  # noqa: E402
from naslid.method.evaluate import Evaluator  # noqa: E402
from naslid.spaces.nb201.ground_truth import ground_truth_column  # noqa: E402
from naslid.spaces.checkpoint import build_supernet
from naslid.runtime.device import seed_everything
from naslid.method.rsps import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# name -> dotted overrides of config/config.yaml
RECIPES = {
    "default": {},  # the embedded default as it is
    "N=2": {"space.N": 2},  # the old default's skeleton
    "N=1": {"space.N": 1},
    "N=1,curriculum10": {"space.N": 1, "train.curriculum_epochs": 10},
    "N=1,affine": {"space.N": 1, "supernet.affine": True},
    "N=1,lr=0.05": {"space.N": 1, "train.lr": 0.05},
}


def nested(dotted: dict) -> dict:
    """{"space.N": 1} -> {"space": {"N": 1}}: overrides in the form load_config validates."""
    tree: dict = {}
    for key, value in dotted.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def taus(config: dict, model, dataset, benchmark) -> dict:
    column = ground_truth_column(config)
    archs = benchmark.archs()
    truth = [benchmark.query(a)[column] for a in archs]
    params = [benchmark.query(a)["params_mb"] for a in archs]
    evaluator = Evaluator(config, [model], [""], dataset, torch.device("cpu"))
    estimates = [evaluator(a) for a in archs]
    return {
        "tau": float(scipy.stats.kendalltau(truth, estimates)[0]),
        "tau_params": float(scipy.stats.kendalltau(truth, params)[0]),
        "mean_estimate": sum(estimates) / len(estimates),
    }


def screen(name: str, seed: int, epochs: int, checkpoints: list[int], work: Path) -> dict:
    config = load_config(
        ROOT / "config" / "config.yaml", nested({**RECIPES[name], "seed": seed, "train.epochs": epochs})
    )
    seed_everything(config)
    dataset = load_dataset(config["data"])
    benchmark = open_benchmark(config)
    model = build_supernet(config, dataset.num_classes)
    start = time.time()
    out = work / f"{name}-s{seed}.pt"
    Path(str(out) + ".resume").unlink(missing_ok=True)
    result = {"recipe": name, "overrides": RECIPES[name], "seed": seed, "epochs": epochs, "checkpoints": []}

    def measure(record, model):
        if record["epoch"] in checkpoints:
            row = {**record, "seconds": round(time.time() - start, 1), **taus(config, model, dataset, benchmark)}
            result["checkpoints"].append(row)
            print(json.dumps({"recipe": name, "seed": seed, **row}), flush=True)
            model.train()

    metrics = train(
        config,
        model,
        dataset,
        epochs,
        config["train"]["lr"],
        out,
        work / f"{name}-s{seed}.json",
        on_epoch=measure,
        curriculum=config["train"]["curriculum_epochs"],
    )
    result["curve"] = metrics
    return result


def plot(screens: list[dict], path: Path) -> None:
    """Learning curves (sampled-path training accuracy per epoch) and tau at each checkpoint, per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curves, ranks) = plt.subplots(1, 2, figsize=(10, 3.8))
    for run in screens:
        label = f"{run['recipe']} (seed {run['seed']})"
        (line,) = curves.plot([m["epoch"] for m in run["curve"]], [m["train_acc"] for m in run["curve"]], label=label)
        ranks.plot(
            [c["epoch"] for c in run["checkpoints"]],
            [c["tau"] for c in run["checkpoints"]],
            "o-",
            color=line.get_color(),
            label=label,
        )
    tau_params = screens[0]["checkpoints"][0]["tau_params"]
    ranks.axhline(tau_params, color="grey", ls="--", label=f"parameter count ({tau_params:.2f})")
    curves.axhline(10, color="grey", ls=":", lw=1)
    curves.set(xlabel="epoch", ylabel="training accuracy of sampled paths (%)", title="supernet pretraining")
    ranks.set(
        xlabel="epoch",
        ylabel="Kendall tau vs proxy_test (200 archs)",
        title="ranking of the proxy table",
        ylim=(-0.1, 0.8),
    )
    ranks.legend(fontsize=7)
    curves.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", action="append", choices=sorted(RECIPES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=None, help="epochs at which to estimate tau")
    parser.add_argument("--work", type=Path, default=Path("/tmp/supernet_screen"))
    parser.add_argument(
        "--out", type=Path, required=True, help="screen results (JSON), or with --plot the figure (PNG)"
    )
    parser.add_argument(
        "--plot", type=Path, nargs="+", help="draw the figure from these screen results instead of screening"
    )
    args = parser.parse_args()
    if args.plot:
        loaded = [json.loads(path.read_text()) for path in args.plot]
        plot([run for screen in loaded for run in (screen["runs"] if isinstance(screen, dict) else screen)], args.out)
        return
    if not args.recipe:
        parser.error("give at least one --recipe (or --plot with screen results)")
    checkpoints = args.checkpoints or [args.epochs // 2, args.epochs]
    args.work.mkdir(parents=True, exist_ok=True)
    results = [screen(name, seed, args.epochs, checkpoints, args.work) for name in args.recipe for seed in args.seeds]
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
