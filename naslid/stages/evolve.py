"""Evolutionary search scored by the supernet, each architecture routed to its sub-supernet: `naslid evolve`.

    naslid evolve --config config/config.yaml --supernets results/default/lid/s0/final/*.pt --out evolve.json

The search is the official NAS-LID code's evolution (`naslid.method.evolution`); an architecture's
fitness is its estimate by the final sub-supernet that holds it (`naslid.method.evaluate`), on the
validation split. With `evolve.within_benchmark` only the ground truth's architectures are visited,
and `--estimates` lends rank's estimates of the same sub-supernets. A killed search resumes from
`<out>.resume` after its last generation and ends with the same result.
"""

from __future__ import annotations

import sys
from pathlib import Path

from naslid.io import atomic_write_json
from naslid.method.evolution import evolve
from naslid.stages import Arg, Stage

STAGE = Stage(
    "evolve",
    "evolutionary search scored by the supernet, each architecture routed to its sub-supernet",
    reads=(
        "evolve",
        "evaluate",
        "data",
        "space",
        "supernet",
        "device",
        "benchmark",
    ),  # benchmark: within_benchmark's rows
    inputs=(
        Arg("--supernets", "the final sub-supernet checkpoints of one split (one checkpoint: no split)", many=True),
        Arg(
            "--estimates",
            "a rank result (rank.json) of the same sub-supernets: the architectures it ranked are not evaluated again",
            required=False,
        ),
    ),
    outputs=(Arg("--out", "search result JSON to write"),),
)


def run(config: dict, inputs, outputs) -> dict:
    return search(config, inputs.supernets, outputs.out, inputs.estimates)


def search(config: dict, checkpoints: list[Path], out: Path, estimates: Path | None = None) -> dict:
    """The stage: evolve with the routed supernet estimate as fitness; write the result JSON.

    `estimates` (a rank.json of the same sub-supernets) lends its estimates: an architecture ranked
    there is not evaluated again. The estimate is the same computation either way, so the search and
    its result are unchanged; only its time is (on a sampled benchmark, every candidate is ranked).
    """
    from naslid.method.evaluate import load_evaluator
    from naslid.runtime.device import seed_everything
    from naslid.spaces import get_space
    from naslid.spaces.ground_truth import ground_truth_of

    seed_everything(config)
    space = get_space(config)
    evaluator = load_evaluator(config, checkpoints)
    if estimates is not None:
        evaluator.reuse(estimates)
    resume = Path(str(out) + ".resume")
    candidates = None
    if config["evolve"]["within_benchmark"]:
        candidates = ground_truth_of(config).open_benchmark(config).archs()
    result = evolve(
        evaluator, config["evolve"], config["seed"], space, resume, candidates=candidates, identity=evaluator.identity
    )
    # How many this process estimated itself goes to the log, not the result: a resumed search
    # estimates fewer and must still write the same result.
    result["estimates_lent_by"] = None if estimates is None else str(estimates)
    print(f"estimated {evaluator.computed} architectures here", file=sys.stderr)
    complexity = space.complexity_model(evaluator.dataset.num_classes, evaluator.dataset.train.images.shape[-1])
    for entry in result["evaluated"]:
        arch = space.arch(entry["ops"])
        entry["sub_id"] = evaluator.sub_id(arch)
        entry.update(complexity(arch))
    result["complexity"] = complexity.describe()
    result.update(
        {
            "kind": "evolve",
            "criterion": config["split"]["criterion"],
            "seed": config["seed"],
            "name": config["name"],
            "supernets": [str(p) for p in checkpoints],
            "config": config,
        }
    )
    atomic_write_json(out, result)
    resume.unlink(missing_ok=True)
    return result
