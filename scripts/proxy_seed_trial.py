"""Would another recipe make the proxy table's best architectures agree across seeds? A cheap trial.

    .venv/bin/python scripts/proxy_seed_trial.py --epochs 16 --noise 0.1 --contrast 0.3 0.4 \
        [--stride 4 --offset 0] [--out t.csv]
    .venv/bin/python scripts/proxy_seed_trial.py --period-bins 3 4 4 5 --train 12000 --valid 10000 --stride 5

Retrains every `stride`-th architecture of the shipped table's top 50 (by mean valid accuracy) with
seeds 0 and 1 under a candidate recipe (`build_benchmark` epochs, learning rate and width C; the
proxy generator's pixel noise, texture contrast, texture period bins and split sizes), two workers
of one thread each as the real build, and prints what decides the top-50 Kendall tau: the seed noise
(sd of one training's accuracy around its architecture's mean) and the ratio of the architectures'
true spread to it. Between-architecture variance is the variance of the two-seed means minus half
the noise variance; a tau of 0.3 between two seeds needs a ratio of about 0.83 (for normal errors,
tau = 2/pi * asin(ratio / (1 + ratio))). Over a dozen architectures these are rough estimates, good
for discarding a recipe before spending hours on a rebuild, not for accepting one.
"""

import argparse
import concurrent.futures
import math
import multiprocessing
import time

import pandas as pd
import scipy.stats

from naslid.stages import build_benchmark
from naslid.spaces.nb201.ground_truth import SHIPPED_PROXY_TABLE
from naslid.config import load_config
from naslid.data import proxy


def _init_worker(args: argparse.Namespace, config: dict) -> None:
    """build-benchmark's own worker set-up, on the candidate task."""
    # Before the first load_dataset: each process caches the images it generated.
    proxy.NOISE, proxy.TEXTURE_CONTRAST = args.noise, tuple(args.contrast)
    proxy.PERIOD_BINS = tuple(zip(args.period_bins[::2], args.period_bins[1::2]))
    proxy.SPLIT_SIZES = {**proxy.SPLIT_SIZES, "train": args.train, "valid": args.valid}
    build_benchmark._init_worker(config)


def summarise(results: pd.DataFrame) -> dict:
    by_seed = results.pivot(index="index", columns="seed", values="valid_acc")
    noise_var = float(((by_seed[0] - by_seed[1]) ** 2 / 2).mean())
    between_var = float(by_seed.mean(axis=1).var()) - noise_var / 2
    ratio = between_var / noise_var
    return {
        "architectures": len(by_seed),
        "mean valid": round(float(by_seed.values.mean()), 2),
        "tau seed 0 vs 1": round(float(scipy.stats.kendalltau(by_seed[0], by_seed[1])[0]), 3),
        "seed noise sd": round(math.sqrt(noise_var), 3),
        "between/noise variance": round(ratio, 2),
        "expected tau": round(2 / math.pi * math.asin(max(ratio, 0) / (1 + max(ratio, 0))), 3),
        "seconds per training": round(float(results["seconds"].mean()), 1),
    }


def main() -> None:
    config = load_config("config/proxy_benchmark.yaml", None)
    recipe = config["build_benchmark"]
    # Defaults are the shipped recipe and task, read from where they are defined.
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=recipe["epochs"], help="training epochs (shipped: %(default)s)")
    parser.add_argument("--lr", type=float, default=recipe["lr"], help="peak SGD learning rate (shipped: %(default)s)")
    parser.add_argument(
        "--width", type=int, default=recipe["C"], help="stand-alone network width C (shipped: %(default)s)"
    )
    parser.add_argument(
        "--noise", type=float, default=proxy.NOISE, help="proxy pixel noise sigma (shipped: %(default)s)"
    )
    parser.add_argument(
        "--contrast",
        type=float,
        nargs=2,
        default=list(proxy.TEXTURE_CONTRAST),
        metavar=("LOW", "HIGH"),
        help="range of a texture's brightness gap (shipped: %(default)s)",
    )
    parser.add_argument(
        "--period-bins",
        type=float,
        nargs="+",
        default=[px for pair in proxy.PERIOD_BINS for px in pair],
        metavar="PX",
        help="texture period ranges as LOW HIGH pairs; each range is a class factor (shipped: %(default)s)",
    )
    parser.add_argument(
        "--train", type=int, default=proxy.SPLIT_SIZES["train"], help="training images (shipped: %(default)s)"
    )
    parser.add_argument(
        "--valid", type=int, default=proxy.SPLIT_SIZES["valid"], help="validation images (shipped: %(default)s)"
    )
    parser.add_argument("--stride", type=int, default=4, help="every stride-th of the shipped top 50")
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        help="start at this rank of the top 50 (0-based), to screen a disjoint set of architectures",
    )
    parser.add_argument("--out", help="CSV of every training's result")
    args = parser.parse_args()
    if args.stride < 1:
        parser.error(f"--stride must be a positive integer (1 = every architecture of the top 50); got {args.stride}")
    if not 0 <= args.offset < args.stride:
        parser.error(f"--offset must lie in 0..{args.stride - 1} (below --stride); got {args.offset}")
    if len(args.period_bins) % 2:
        parser.error(f"--period-bins takes LOW HIGH pairs; got {len(args.period_bins)} numbers")
    recipe.update(epochs=args.epochs, C=args.width, lr=args.lr)
    table = pd.read_csv(SHIPPED_PROXY_TABLE)
    indices = table.nlargest(50, "proxy_valid")["index"].tolist()[args.offset :: args.stride]
    jobs = [(i, s) for i in indices for s in (0, 1)]
    start = time.time()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        2, mp_context=context, initializer=_init_worker, initargs=(args, config)
    ) as pool:
        results = pd.DataFrame(pool.map(build_benchmark._train_task, *zip(*jobs)))
    if args.out:
        results.to_csv(args.out, index=False)
    candidate = {key: value for key, value in vars(args).items() if key != "out"}  # every knob, none forgotten
    print({**candidate, **summarise(results), "wall seconds": round(time.time() - start)})


if __name__ == "__main__":
    main()
