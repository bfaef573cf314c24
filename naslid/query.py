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

from pathlib import Path

from naslid.benchmark import (ACCURACY_COLUMNS, COLUMNS, Benchmark, CompactTable, column_prefix, open_benchmark,
                              shipped_or_path)
from naslid.errors import BenchmarkError
from naslid.io import atomic_write_json, load_json
from naslid.space.nb201 import Arch


def open_reference(config: dict) -> Benchmark | None:
    reference = config["benchmark"]["reference"]
    if reference is None:
        return None
    path = shipped_or_path(reference)
    if not path.is_file():
        raise BenchmarkError(f"reference table {path} does not exist; set benchmark.reference to a compact CSV table, "
                             f"nb201 (the shipped NB201 table) or null")
    return CompactTable(path)


def ground_truth_column(config: dict) -> str:
    """The benchmark column that ranks architectures: test accuracy on the configured dataset."""
    return f"{column_prefix(config['data']['dataset'])}_test"


def lookup(benchmark: Benchmark, arch: Arch) -> dict:
    """The benchmark's values for `arch`, or a record saying it is not in a sampled benchmark.

    `missing` names what this benchmark cannot answer among the splits of its datasets and the
    costs: e.g. the compact NB201 table has no cifar100_valid, imagenet16_valid or flops_m.
    """
    if arch not in benchmark:
        return {"in_benchmark": False}
    values = benchmark.query(arch)
    datasets = {c.split("_")[0] for c in benchmark.columns() if c in ACCURACY_COLUMNS}
    expected = [c for c in COLUMNS if c.split("_")[0] in datasets or c not in ACCURACY_COLUMNS]
    return {"in_benchmark": True, **{k: v for k, v in values.items() if v is not None},
            "missing": [c for c in expected if values[c] is None]}


def optimum(benchmark: Benchmark, column: str) -> Arch | None:
    if column not in benchmark.columns():
        return None
    return max(benchmark.archs(), key=lambda a: (benchmark.query(a)[column] or float("-inf"), -a.index))


def describe(config: dict, arch: Arch) -> dict:
    """Everything the configured benchmarks know of one architecture (for `--arch`)."""
    benchmark, reference = open_benchmark(config), open_reference(config)
    answer = {"arch": arch.to_str(), "index": arch.index, "benchmark": str(benchmark.path), **lookup(benchmark, arch)}
    if not answer["in_benchmark"]:
        raise BenchmarkError(f"architecture {arch} (index {arch.index}) is not in the benchmark {benchmark.path}, "
                             f"which holds {len(benchmark)} sampled architectures")
    if reference is not None:
        answer["reference"] = {"table": str(reference.path), **lookup(reference, arch)}
    return answer


def run(config: dict, evolve_path: Path, out: Path) -> dict:
    """The stage: the search's best architectures and the benchmarks' optima, looked up."""
    result = load_json(evolve_path, "evolution result")
    benchmark, reference = open_benchmark(config), open_reference(config)
    column = ground_truth_column(config)
    rows = [{"role": f"searched #{rank}", "arch": entry["arch"], "index": Arch.from_str(entry["arch"]).index,
             "supernet_score": entry["score"], "generation": entry["generation"], "sub_id": entry.get("sub_id")}
            for rank, entry in enumerate(result["best"], start=1)]
    best = optimum(benchmark, column)
    if best is not None:
        rows.append({"role": f"benchmark optimum ({column})", "arch": best.to_str(), "index": best.index})
    if reference is not None:
        for ref_column in ("cifar10_test", "cifar100_test", "imagenet16_test"):
            ref_best = optimum(reference, ref_column)
            if ref_best is not None:
                rows.append({"role": f"reference optimum ({ref_column})", "arch": ref_best.to_str(), "index": ref_best.index})
    for row in rows:
        arch = Arch.from_str(row["arch"])
        row["benchmark"] = lookup(benchmark, arch)
        if reference is not None:
            row["reference"] = lookup(reference, arch)
    answer = {"kind": "query", "name": config["name"], "criterion": config["split"]["criterion"], "seed": config["seed"],
              "benchmark": str(benchmark.path), "reference": None if reference is None else str(reference.path),
              "ground_truth": column, "rows": rows}
    atomic_write_json(out, answer)
    return answer
