"""Look searched architectures up in the benchmark: `naslid query`.

    naslid query --config config/config.yaml --arch "|nor_conv_3x3~0|+|...|"     # one architecture, printed
    naslid query --config config/config.yaml --evolve evolve.json --out query.json  # the search's best

The benchmark is `benchmark.kind`/`benchmark.path` (default: the shipped proxy table); with
`benchmark.reference` the same architectures are also looked up in a second compact table (default:
the shipped NB201 table, so a proxy search also says how its winner does on CIFAR and ImageNet16).
The result lists the searched architectures and, for reference, each benchmark's optimum (best by
its ground-truth column). A value a benchmark does not have is reported missing, never guessed.
"""

from __future__ import annotations

import json
from pathlib import Path

from naslid.errors import BenchmarkError, NaslidError
from naslid.io import atomic_write_json, load_json
from naslid.spaces.nb201.encoding import Arch
from naslid.spaces.ground_truth import ground_truth_of
from naslid.stages import Arg, Stage

STAGE = Stage(
    "query",
    "look architectures up in the configured benchmark: one (--arch) or a search's best (--evolve)",
    reads=("benchmark", "data", "space.name"),  # space.name: whose tables (naslid.spaces.ground_truth)
    inputs=(
        Arg("--arch", "an NB201 architecture string; its accuracies are printed as JSON", required=False, type=str),
        Arg("--evolve", "search result JSON (from `naslid evolve`); needs --out", required=False),
    ),
    outputs=(Arg("--out", "query result JSON to write (with --evolve)", required=False),),
)


def run(config: dict, inputs, outputs) -> dict:
    if (inputs.arch is None) == (inputs.evolve is None):
        raise NaslidError("pass exactly one of --arch (an architecture string) and --evolve (a search result)")
    if inputs.arch is not None:
        answer = describe(config, Arch.from_str(inputs.arch))
        print(json.dumps(answer, indent=2))
        return answer
    if outputs.out is None:
        raise NaslidError("--evolve needs --out: the query result JSON to write")
    return query(config, inputs.evolve, outputs.out)


def describe(config: dict, arch: Arch) -> dict:
    """Everything the configured benchmarks know of one architecture (for `--arch`)."""
    truth = ground_truth_of(config)
    benchmark, reference = truth.open_benchmark(config), truth.open_reference(config)
    answer = {"arch": arch.to_str(), "index": arch.index, "benchmark": str(benchmark.path)}
    answer |= truth.lookup(benchmark, arch)
    if not answer["in_benchmark"]:
        raise BenchmarkError(
            f"architecture {arch} (index {arch.index}) is not in the benchmark {benchmark.path}, "
            f"which holds {len(benchmark)} sampled architectures"
        )
    if reference is not None:
        answer["reference"] = {"table": str(reference.path), **truth.lookup(reference, arch)}
    return answer


def query(config: dict, evolve_path: Path, out: Path) -> dict:
    """The stage: the search's best architectures and the benchmarks' optima, looked up."""
    result = load_json(evolve_path, "evolution result")
    truth = ground_truth_of(config)
    benchmark, reference = truth.open_benchmark(config), truth.open_reference(config)
    column = truth.ground_truth_column(config)
    rows = [
        {
            "role": f"searched #{rank}",
            "arch": entry["arch"],
            "index": Arch.from_str(entry["arch"]).index,
            "supernet_score": entry["score"],
            "generation": entry["generation"],
            "sub_id": entry.get("sub_id"),
        }
        for rank, entry in enumerate(result["best"], start=1)
    ]
    best = truth.optimum(benchmark, column)
    if best is not None:
        rows.append({"role": f"benchmark optimum ({column})", "arch": best.to_str(), "index": best.index})
    if reference is not None:
        for ref_column in ("cifar10_test", "cifar100_test", "imagenet16_test"):
            ref_best = truth.optimum(reference, ref_column)
            if ref_best is not None:
                rows.append(
                    {"role": f"reference optimum ({ref_column})", "arch": ref_best.to_str(), "index": ref_best.index}
                )
    for row in rows:
        arch = Arch.from_str(row["arch"])
        row["benchmark"] = truth.lookup(benchmark, arch)
        if reference is not None:
            row["reference"] = truth.lookup(reference, arch)
    answer = {
        "kind": "query",
        "name": config["name"],
        "criterion": config["split"]["criterion"],
        "seed": config["seed"],
        "benchmark": str(benchmark.path),
        "reference": None if reference is None else str(reference.path),
        "ground_truth": column,
        "rows": rows,
    }
    atomic_write_json(out, answer)
    return answer
