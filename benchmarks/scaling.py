"""Scaling of the profiling cost with rounds: how LID profiling (forward passes only) and
gradient matching (a forward and a backward per op) grow as the split goes on, measured for rounds
1..4 and fitted.

Round r profiles 2^(r-1) sub-supernets, each on its 7 - r unpartitioned edges, each edge with
its 5 ops on R batches: 2^(r-1) (7 - r) 5 R passes (forward for LID, forward + backward for gradient
matching). Here every sub-supernet of round r is built (edges 0..r-2 split two ways, {none, skip} /
{conv 1x1, conv 3x3, avg pool}, every combination) and all its candidate edges are profiled,
as the workflow's profile jobs do, in this one process; the seconds of each round are summed over
its jobs (on a cluster the jobs run in parallel: this is the compute a round costs, not its wall
time). The fit is seconds = c x passes per criterion (least squares through 0), with R^2.

    python benchmarks/scaling.py [--C 16 --N 5 --batches 2 --batch-size 64 --rounds 4]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from _record import record
from naslid.config import load_config
from naslid.method.criteria import get_criterion
from naslid.data import load_dataset
from naslid.spaces.nb201.encoding import OPS, full_mask, unpartitioned_edges
from naslid.spaces.checkpoint import build_supernet
from naslid.runtime.device import seed_everything

GROUPS = ([0, 1], [2, 3, 4])  # indices into OPS: {none, skip_connect} / {nor_conv_1x1, nor_conv_3x3, avg_pool_3x3}


def masks_of_round(r: int) -> list[np.ndarray]:
    """The 2^(r-1) sub-supernets that round r profiles: edges 0..r-2 already split."""
    masks = []
    for choice in itertools.product(GROUPS, repeat=r - 1):
        mask = full_mask()
        for edge, group in enumerate(choice):
            mask[edge] = False
            mask[edge, group] = True
        masks.append(mask)
    return masks


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--batches", type=int, default=2, help="R batches per edge")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    config = load_config(
        None,
        {
            "threads": 2,
            "space": {"C": args.C, "N": args.N},
            "lid": {"batches": args.batches, "batch_size": args.batch_size},
            "gradient": {"batches": args.batches, "batch_size": args.batch_size},
        },
    )
    seed_everything(config)
    dataset = load_dataset(config["data"])
    rows = []
    for r in range(1, args.rounds + 1):
        for name in ("lid", "gradient"):
            criterion, seconds, passes, jobs = get_criterion(name), 0.0, 0, 0
            for i, mask in enumerate(masks_of_round(r)):
                model = build_supernet(config, dataset.num_classes, mask)
                for edge in unpartitioned_edges(mask):
                    start = time.perf_counter()
                    criterion.profile(config, model, dataset, edge, f"s{i}", "cpu")
                    seconds += time.perf_counter() - start
                    passes += int(mask[edge].sum()) * args.batches
                    jobs += 1
            rows.append(
                {
                    "round": r,
                    "criterion": name,
                    "sub_supernets": 2 ** (r - 1),
                    "jobs": jobs,
                    "passes": passes,
                    "seconds": seconds,
                }
            )
            print(f"round {r} {name}: {jobs} edge jobs, {passes} passes, {seconds:.1f} s", flush=True)
    fits = {}
    for name in ("lid", "gradient"):
        x = np.array([row["passes"] for row in rows if row["criterion"] == name], float)
        y = np.array([row["seconds"] for row in rows if row["criterion"] == name])
        c = float(x @ y / (x @ x))
        r2 = 1 - float(((y - c * x) ** 2).sum() / ((y - y.mean()) ** 2).sum())
        fits[name] = {"seconds_per_pass": c, "r2": r2}
    print(
        "\n| round | sub-supernets | edge jobs | passes | LID s | gradient s | gradient / LID |"
        "\n|---|---|---|---|---|---|---|"
    )
    for r in range(1, args.rounds + 1):
        lid, grad = (
            next(row for row in rows if row["round"] == r and row["criterion"] == n) for n in ("lid", "gradient")
        )
        print(
            f"| {r} | {lid['sub_supernets']} | {lid['jobs']} | {lid['passes']} | {lid['seconds']:.1f} | "
            f"{grad['seconds']:.1f} | {grad['seconds'] / lid['seconds']:.2f} |"
        )
    for name, fit in fits.items():
        print(f"{name}: {fit['seconds_per_pass'] * 1000:.1f} ms per pass (R^2 {fit['r2']:.3f})")
    ratio = fits["gradient"]["seconds_per_pass"] / fits["lid"]["seconds_per_pass"]
    record(
        "scaling",
        {"args": vars(args), "ops": list(OPS), "rows": rows, "fits": fits},
        {
            "scaling_gradient_over_lid_per_pass": (
                round(ratio, 2),
                "reported",
                "x (fitted seconds per pass, gradient / LID)",
            )
        },
    )


if __name__ == "__main__":
    main()
