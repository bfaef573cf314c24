"""Profiling cost (paper Table 1): peak memory and time of LID profiling vs GM-NAS gradient
matching of one edge, on the same supernet and the same R batches, at 32x32 and at a larger input
(64x64). Each measurement runs in a fresh process (`naslid cost`): on CUDA the allocator's peak, on
CPU the process's peak resident memory above its baseline.

Table 1's first row is NB201 (C=16, N=5, as the paper); its second row is the ProxylessNAS space
(`--space proxyless`: ProxylessNAS's ImageNet layout, 21 layers x 7 ops, the edge a stage's second layer).

    python benchmarks/profile_cost.py [--space nb201 --sizes 32 64 --batches 4 --batch-size 128 --device cpu]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from _record import record
from naslid.config import load_config
from naslid.stages.cost import cost
from naslid.io import atomic_torch_save
from naslid.spaces.checkpoint import build_supernet, supernet_checkpoint


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", choices=["nb201", "proxyless"], default="nb201")
    p.add_argument("--sizes", type=int, nargs=2, default=[32, 64])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--batches", type=int, default=4, help="R profiling batches (paper: 50)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    config = load_config(
        None,
        {
            "device": args.device,
            "threads": 2,
            "space": {"name": args.space, "C": args.C, "N": args.N},
            "lid": {"batches": args.batches, "batch_size": args.batch_size},
            "gradient": {"batches": args.batches, "batch_size": args.batch_size},
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "supernet.pt"
        atomic_torch_save(ckpt, supernet_checkpoint(build_supernet(config, 10), config, []))
        # NB201: edge 0; ProxylessNAS: layer s1.2, which can take every op including skip
        cost(config, ckpt, args.sizes, Path(tmp) / "cost.json", edge=0 if args.space == "nb201" else 1)
        result = json.loads((Path(tmp) / "cost.json").read_text())
    rows = {(r["criterion"], r["input_size"]): r for r in result["rows"]}
    print(
        "| input | GM-NAS peak MB | NAS-LID peak MB | memory LID/GM | GM-NAS s | NAS-LID s |\n|---|---|---|---|---|---|"
    )
    ratios = {}
    for size in args.sizes:
        g, lid = rows[("gradient", size)], rows[("lid", size)]
        ratios[size] = lid["peak_mb"] / g["peak_mb"]
        print(
            f"| {size}x{size} | {g['peak_mb']:.1f} | {lid['peak_mb']:.1f} | {ratios[size]:.3f} "
            f"| {g['seconds']:.2f} | {lid['seconds']:.2f} |"
        )
    small, large = args.sizes
    if args.space == "nb201":
        record(
            f"profile_cost_{args.device}",
            {"args": vars(args), "cost": result},
            {
                "profile_memory_ratio_32": (
                    round(ratios[small], 3),
                    0.30,
                    f"LID / gradient peak memory, {small}x{small}",
                ),
                "profile_memory_ratio_large": (
                    round(ratios[large], 3),
                    0.10,
                    f"LID / gradient peak memory, {large}x{large}",
                ),
            },
        )
    else:  # Table 1's second row: reported, the issue sets no goal for it
        record(
            f"profile_cost_proxyless_{args.device}",
            {"args": vars(args), "cost": result},
            {
                "proxyless_memory_ratio_32": (
                    round(ratios[small], 3),
                    None,
                    f"ProxylessNAS space, LID / gradient peak memory, {small}x{small}",
                ),
                "proxyless_memory_ratio_large": (
                    round(ratios[large], 3),
                    None,
                    f"ProxylessNAS space, LID / gradient peak memory, {large}x{large}",
                ),
            },
        )


if __name__ == "__main__":
    main()
