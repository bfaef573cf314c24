"""Ranking correlation between the supernet's estimates and the ground truth: `naslid rank` (Table 2).

    naslid rank --config config/config.yaml --supernets results/.../final/*.pt --out rank.json

The architectures are GM-NAS's protocol: the best `rank.percent` % of the benchmark by its ground
truth (test accuracy on the configured dataset). For the whole NB201 space that is the top 1 %
rounded up, 157 architectures (GM-NAS says about 156) with CIFAR-10 test accuracy 93.78-94.37;
for a sampled table (the proxy benchmark) every row. Each is estimated by the sub-supernet that
holds it (routing). For each k in `rank.top_k`, Kendall's tau and Spearman's rho (scipy) are
computed over the k best of them by ground truth. The criterion, seed and config name are recorded with every number.
The estimates so far are kept in `<out>.resume`: a job stopped by SIGTERM or killed resumes after
the last one saved (157 architectures take about 8 minutes on one CPU core at the paper's shape).
"""

from __future__ import annotations

from pathlib import Path

from naslid.io import atomic_write_json
from naslid.method.stats import correlations
from naslid.runtime.resume import ResumeFile, fingerprint, map_resumable
from naslid.spaces.ground_truth import ground_truth_of
from naslid.stages import Arg, Stage

STAGE = Stage(
    "rank",
    "ranking correlation of supernet estimates with the benchmark (Kendall tau, Spearman rho, top-k)",
    reads=("rank", "evaluate", "benchmark", "data", "space", "supernet", "device", "lid.similarity"),  # recorded
    inputs=(
        Arg("--supernets", "the final sub-supernet checkpoints of one split (one checkpoint: no split)", many=True),
    ),
    outputs=(Arg("--out", "rank result JSON to write"),),
)


def run(config: dict, inputs, outputs) -> dict:
    return rank(config, inputs.supernets, outputs.out)


def rank(config: dict, checkpoints: list[Path], out: Path) -> dict:
    from naslid.method.evaluate import load_evaluator
    from naslid.runtime.device import seed_everything

    seed_everything(config)
    ground_truth = ground_truth_of(config)
    benchmark = ground_truth.open_benchmark(config)
    column = ground_truth.ground_truth_column(config)
    archs = ground_truth.protocol_archs(benchmark, column, config["rank"]["percent"])
    evaluator = load_evaluator(config, checkpoints)
    # The estimates depend on the sub-supernets, the evaluation settings and the data (the identity)
    resume = ResumeFile(f"{out}.resume", "rank", fingerprint(evaluator.identity, [a.to_str() for a, _ in archs]))
    estimates = map_resumable(evaluator, [a for a, _ in archs], resume, "architecture", "estimating")
    truth = [t for _, t in archs]
    result = {
        "kind": "rank",
        "name": config["name"],
        "criterion": config["split"]["criterion"],
        "similarity": config["lid"]["similarity"],
        "seed": config["seed"],
        "benchmark": str(benchmark.path),
        "ground_truth": column,
        "scored_with": evaluator.identity,
        "archs": len(archs),
        "ground_truth_range": [min(truth), max(truth)],
        "correlations": correlations(truth, estimates, config["rank"]["top_k"]),
        "estimates": [
            {"arch": a.to_str(), "index": a.index, "ground_truth": t, "estimate": e, "sub_id": evaluator.sub_id(a)}
            for (a, t), e in zip(archs, estimates)
        ],
    }
    atomic_write_json(out, result)
    resume.finish()
    return result
