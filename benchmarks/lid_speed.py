"""LID estimator speed: naslid's `lid_mle` vs scikit-dimension's pointwise MLE on the same data,
with equal values (skdim's Levina-Bickel form times k/(k-1) is the paper's form; checked to 1e-6).

    python benchmarks/lid_speed.py [--n 128 --dims 2048 --k 20 --repeats 5]

The shapes are a profiling batch: n images x the flattened features of one layer (NB201's first
stage at C=16, 32x32 is 16384 features; 2048 is a C=8, 16x16 layer).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _record import record
from naslid.method.lid import lid_mle


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    import skdim

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[128, 512])
    p.add_argument("--dims", type=int, nargs="+", default=[2048, 16384])
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    rows = []
    for n in args.n:
        for dims in args.dims:
            x = np.random.default_rng(0).normal(size=(n, dims)).astype(np.float32)
            ours = lid_mle(torch.from_numpy(x), k=args.k).double().numpy()
            theirs = skdim.id.MLE().fit(x.astype(np.float64), n_neighbors=args.k).dimension_pw_ * args.k / (args.k - 1)
            err = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
            t_ours = best_time(lambda x=x: lid_mle(torch.from_numpy(x), k=args.k), args.repeats)
            t_theirs = best_time(lambda x=x: skdim.id.MLE().fit(x.astype(np.float64), n_neighbors=args.k), args.repeats)
            rows.append(
                {
                    "n": n,
                    "dims": dims,
                    "naslid_s": t_ours,
                    "skdim_s": t_theirs,
                    "speedup": t_theirs / t_ours,
                    "max_rel_diff": err,
                }
            )
    print("| n | dims | naslid s | skdim s | speed-up | max relative difference |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']} | {r['dims']} | {r['naslid_s']:.4f} | {r['skdim_s']:.4f} | {r['speedup']:.1f} "
            f"| {r['max_rel_diff']:.1e} |"
        )
    speedup = min(r["speedup"] for r in rows)
    record(
        "lid_speed",
        {"args": vars(args), "rows": rows},
        {"lid_speedup_vs_skdim": (round(speedup, 2), 20.0, "x (slowest of the shapes measured)")},
    )


if __name__ == "__main__":
    main()
