"""Ranking correlation between the supernet's estimates and the ground truth: `naslid rank` (Table 2).

    naslid rank --config config/config.yaml --supernets results/.../finetune/*.pt --out rank.json

The architectures are GM-NAS's protocol: the best `rank.percent` % of the benchmark by its ground
truth (test accuracy on the configured dataset). For the whole NB201 space that is the top 1%,
about 156 architectures with CIFAR-10 test accuracy 93.78-94.37; for a sampled table (the proxy
benchmark) every row. Each is estimated by the sub-supernet that holds it (routing). For each k in
`rank.top_k`, Kendall's tau and Spearman's rho (scipy) are computed over the k best of them by
ground truth. The criterion, seed and config name are recorded with every number.
"""

from __future__ import annotations

import math
from pathlib import Path

import scipy.stats
from tqdm import tqdm

from naslid.benchmark import open_benchmark
from naslid.errors import BenchmarkError
from naslid.io import atomic_write_json
from naslid.query import ground_truth_column
from naslid.space.nb201 import NUM_ARCHS


def protocol_archs(benchmark, column: str, percent: float | None) -> list[tuple]:
    """(arch, ground truth) of the best `percent` % of the benchmark, best first."""
    if column not in benchmark.columns():
        raise BenchmarkError(f"the benchmark {benchmark.path} has no column {column!r} to rank by "
                             f"(it has {', '.join(benchmark.columns())}); check data.dataset and benchmark.path")
    scored = sorted(((a, benchmark.query(a)[column]) for a in benchmark.archs()), key=lambda p: (-p[1], p[0].index))
    if percent is None:
        percent = 1.0 if len(benchmark) == NUM_ARCHS else 100.0
    return scored[:max(2, math.ceil(len(scored) * percent / 100))]


def correlations(truth: list[float], estimate: list[float], top_k: list[int]) -> list[dict]:
    """Kendall tau and Spearman rho over the k first pairs (the k best by ground truth), for each k."""
    rows = []
    for k in top_k:
        if k > len(truth):
            rows.append({"top_k": k, "n": len(truth), "kendall_tau": None, "spearman_rho": None,
                         "note": f"only {len(truth)} architectures"})
            continue
        rows.append({"top_k": k, "n": k, "kendall_tau": float(scipy.stats.kendalltau(truth[:k], estimate[:k])[0]),
                     "spearman_rho": float(scipy.stats.spearmanr(truth[:k], estimate[:k])[0])})
    return rows


def run(config: dict, checkpoints: list[Path], out: Path) -> dict:
    from naslid.evaluate import load_evaluator
    from naslid.train import seed_everything
    seed_everything(config)
    benchmark = open_benchmark(config)
    column = ground_truth_column(config)
    archs = protocol_archs(benchmark, column, config["rank"]["percent"])
    evaluator = load_evaluator(config, checkpoints)
    estimates = [evaluator(a) for a, _ in tqdm(archs, desc="estimating", disable=None)]
    truth = [t for _, t in archs]
    result = {"kind": "rank", "name": config["name"], "criterion": config["split"]["criterion"],
              "similarity": config["lid"]["similarity"], "seed": config["seed"], "benchmark": str(benchmark.path),
              "ground_truth": column, "scored_with": evaluator.identity, "archs": len(archs), "ground_truth_range": [min(truth), max(truth)],
              "correlations": correlations(truth, estimates, config["rank"]["top_k"]),
              "estimates": [{"arch": a.to_str(), "index": a.index, "ground_truth": t, "estimate": e,
                             "sub_id": evaluator.sub_id(a)} for (a, t), e in zip(archs, estimates)]}
    atomic_write_json(out, result)
    return result
