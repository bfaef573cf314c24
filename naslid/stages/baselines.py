"""What Table 2's criteria must beat, on the same architectures: `naslid baselines`.

    naslid baselines --config config/config.yaml --set seed=0 --out results/default/s0/baselines.json

For the architectures `naslid rank` ranks (GM-NAS's protocol, `rank.protocol_archs`), three
estimates that need no supernet, each computed on the stand-alone network of the configured space
(`space.C`, `space.N`, the dataset's classes and image size):
- `params`: millions of parameters; `flops`: millions of multiply-accumulates (`naslid.spaces.complexity`);
- `naswot`: the zero-cost proxy of Mellor et al., "Neural Architecture Search without Training",
  ICML 2021: on one minibatch at initialisation, each image's binary code is which ReLU units it
  switches on; K_H[i, j] = N_A - d_H(c_i, c_j) (N_A units, d_H the Hamming distance) and the score
  is log|det K_H|. Images the network tells apart get distant codes and a large determinant. The
  batch is the first `BATCH` training images (no augmentation), NASWOT's batch size; BatchNorm on
  batch statistics, as NASWOT's code runs it; weights seeded by `seed` per architecture, so the
  score depends on the seed, not on the order of the architectures.
And the ground truth's ceiling: how well two trainings of the benchmark agree with each other over
the same architectures (`ceiling`), so no criterion is expected to rank better than that.

Every record has the schema of `rank.json`'s `estimates` (arch, index, ground_truth, estimate), so
Table 2 ranks them with the same code; the ceiling's records add `versus`, the first training.
The values so far are kept in `<out>.resume`: a job stopped by SIGTERM or killed resumes after the
last architecture saved (NASWOT of 157 networks takes about 10 minutes on CPU at the paper's shape).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from naslid.io import atomic_write_json
from naslid.runtime.resume import ResumeFile, fingerprint, map_resumable
from naslid.spaces.complexity import flops_m, params_mb
from naslid.spaces.ground_truth import ground_truth_of
from naslid.stages import Arg, Stage

STAGE = Stage(
    "baselines",
    "params, FLOPs and the NASWOT zero-cost proxy of the ranked architectures, and the ground "
    "truth's ceiling (Table 2)",
    reads=("rank", "benchmark", "data", "space", "device"),  # device: seeding (deterministic algorithms on CPU)
    outputs=(Arg("--out", "baselines JSON to write"),),
)

BATCH = 128  # NASWOT's minibatch (Mellor et al. 2021, Sec. 4)
BASELINES = {
    "params": "parameters of the stand-alone network (M)",
    "flops": "multiply-accumulates of the stand-alone network (M)",
    "naswot": "NASWOT score log|det K_H| at initialisation (Mellor et al., ICML 2021)",
}


def naswot(model: nn.Module, images: torch.Tensor) -> float:
    """log|det K_H| of the ReLU codes of `images` (Mellor et al. 2021, Eq. 2); -inf if K_H is singular."""
    codes = []
    hooks = [
        m.register_forward_hook(lambda m, i, out: codes.append((out > 0).flatten(1)))
        for m in model.modules()
        if isinstance(m, nn.ReLU)
    ]
    model.train()  # batch statistics: the running ones of a fresh network are placeholders
    try:
        with torch.no_grad():
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
    # (B, N_A), 1 where a unit is on. Units on in both + units off in both (= N_A - Hamming) is
    # 2 c c^T - on_i - on_j + N_A: one product instead of two, in float32, whose sums of 0/1 terms
    # stay exact below 2^24 units (C = 16, N = 5 at 32x32 has about 2.6 M), the rest in float64
    c = torch.cat(codes, dim=1).float()
    exact = c.shape[1] < 2**24
    both_on = (c @ c.T if exact else c.double() @ c.double().T).double()
    on = c.sum(1, dtype=torch.float64)
    kernel = 2 * both_on - on[:, None] - on[None, :] + c.shape[1]
    sign, logdet = np.linalg.slogdet(kernel.numpy())
    return float(logdet) if sign != 0 else float("-inf")


def estimates(
    config: dict, archs: list, images: torch.Tensor, num_classes: int, resume: ResumeFile
) -> dict[str, list[float]]:
    """Each baseline's value for each architecture, in the order of `archs`."""
    from naslid.spaces import get_space

    def values_of(arch) -> dict[str, float]:
        torch.manual_seed(config["seed"])  # the same initialisation stream for every architecture
        model = get_space(config).standalone(arch, num_classes)
        return {
            "params": params_mb(model),
            "flops": flops_m(model, images.shape[-1]),
            "naswot": naswot(model, images),
        }

    per_arch = map_resumable(values_of, archs, resume, "architecture", "baselines")
    return {name: [v[name] for v in per_arch] for name in BASELINES}


def ceiling(config: dict, benchmark, archs: list) -> dict:
    """Two trainings of the ground truth over `archs` (`versus`, `estimate`), or why there are none.

    The proxy table has two training seeds per architecture (`test_acc_s0`, `test_acc_s1`); NB201's
    compact table keeps only means over seeds, but its `cifar10_valid` and `cifar10_test` come from
    two separate trainings (NB201's `cifar10-valid` on half the training set, `cifar10` on all of
    it), which is the nearest it has for CIFAR-10, and nothing for CIFAR-100 or ImageNet16-120.
    """
    column = ground_truth_of(config).ground_truth_column(config)
    split = column.rsplit("_", 1)[1]
    table = pd.read_csv(benchmark.path) if benchmark.kind == "csv" else None
    seeds = [f"{split}_acc_s0", f"{split}_acc_s1"]
    if table is not None and set(seeds) <= set(table.columns):
        by_index = table.set_index("index")
        pairs = [(float(by_index.at[a.index, seeds[0]]), float(by_index.at[a.index, seeds[1]])) for a in archs]
        return {"columns": seeds, "description": "training seed 0 vs seed 1 of the benchmark", "pairs": pairs}
    if column == "cifar10_test" and "cifar10_valid" in benchmark.columns():
        pairs = [(benchmark.query(a)["cifar10_valid"], benchmark.query(a)["cifar10_test"]) for a in archs]
        return {
            "columns": ["cifar10_valid", "cifar10_test"],
            "pairs": pairs,
            "description": "NB201's cifar10-valid training vs its cifar10 training (each a mean over seeds)",
        }
    return {
        "columns": None,
        "pairs": None,
        "reason": f"the benchmark {benchmark.path} has one training per architecture for {column} "
        f"(no {seeds[0]}/{seeds[1]} columns), so no second training to compare with",
    }


def _records(archs: list, values: list[float]) -> list[dict]:
    return [
        {"arch": a.to_str(), "index": a.index, "ground_truth": t, "estimate": v} for (a, t), v in zip(archs, values)
    ]


def run(config: dict, inputs, outputs) -> dict:
    return baselines(config, outputs.out)


def baselines(config: dict, out: Path) -> dict:
    from naslid.data import load_dataset
    from naslid.runtime.device import seed_everything

    seed_everything(config)
    ground_truth = ground_truth_of(config)
    benchmark = ground_truth.open_benchmark(config)
    column = ground_truth.ground_truth_column(config)
    archs = ground_truth.protocol_archs(benchmark, column, config["rank"]["percent"])
    dataset = load_dataset(config["data"])
    images = dataset.normalise(dataset.train.images[:BATCH])
    ranked = [a for a, _ in archs]
    resume = ResumeFile(f"{out}.resume", "baselines", fingerprint(config, [a.to_str() for a in ranked]))
    values = estimates(config, ranked, images, dataset.num_classes, resume)
    top = ceiling(config, benchmark, ranked)
    ceiling_records = (
        None
        if top["pairs"] is None
        else [
            {**r, "versus": first} for r, (first, _) in zip(_records(archs, [s for _, s in top["pairs"]]), top["pairs"])
        ]
    )
    result = {
        "kind": "baselines",
        "name": config["name"],
        "seed": config["seed"],
        "benchmark": str(benchmark.path),
        "ground_truth": column,
        "archs": len(archs),
        "naswot_batch": int(images.shape[0]),
        "baselines": [
            {"baseline": name, "description": BASELINES[name], "estimates": _records(archs, values[name])}
            for name in BASELINES
        ],
        "ceiling": {**{k: v for k, v in top.items() if k != "pairs"}, "estimates": ceiling_records},
    }
    atomic_write_json(out, result)
    resume.finish()
    return result
