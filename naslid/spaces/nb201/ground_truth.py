"""Ground truth: one interface, `Benchmark.query(arch)`, over three kinds of benchmark file.

- `csv`: a compact table with an `arch` column and accuracy columns named `<dataset>_<split>`, such
  as NB201's compact table (`cifar10_valid, cifar10_test, cifar100_test, imagenet16_test, params_mb`)
  and the proxy table `naslid build-benchmark` writes (`proxy_valid, proxy_test, params_mb, flops_m`).
  A table may hold a sample of the space: an architecture outside it is reported, never guessed.
- `nas-bench-201`: the official `NAS-Bench-201-v1_*.pth`, read with the `nas_201_api` package.
- `nats-tss`: NATS-Bench's topology file `NATS-tss-v1_0-3ffb9-full` or its fast-mode directory
  `NATS-tss-v1_0-3ffb9-simple`, read with the `nats_bench` package.

Every query answers every column of `COLUMNS`; a column the back-end does not have is None, and the
caller reports it as missing. The official files give the 200-epoch results averaged over seeds:
`cifar10_valid` is `cifar10-valid` on `x-valid`, `cifar10_test` is `cifar10` (train+valid) on
`ori-test`, and CIFAR-100 / ImageNet16-120 use their `x-valid` and `x-test` halves, exactly the
columns of the compact table.

Also here, because they are the ground truth's: the column that ranks architectures
(`ground_truth_column`), the reference table (`open_reference`), a lookup that names what a table
cannot answer (`lookup`), a table's optimum, and the GM-NAS protocol's architectures (`protocol_archs`).
"""

from __future__ import annotations

import bz2
import contextlib
import io
import math
import pickle
from pathlib import Path

import pandas as pd

from naslid.errors import ArchError, BenchmarkError
from naslid.spaces.nb201.encoding import NUM_ARCHS, Arch

ACCURACY_COLUMNS = (
    "cifar10_valid",
    "cifar10_test",
    "cifar100_valid",
    "cifar100_test",
    "imagenet16_valid",
    "imagenet16_test",
    "proxy_valid",
    "proxy_test",
)
COLUMNS = ACCURACY_COLUMNS + ("params_mb", "flops_m")


SHIPPED_PROXY_TABLE = Path(__file__).resolve().parents[2] / "data" / "proxy_benchmark.csv"


SHIPPED_NB201_TABLE = Path(__file__).resolve().parents[2] / "data" / "nb201_accuracy.csv.gz"


def shipped_or_path(path: str | None) -> Path:
    """`null` is the shipped proxy table, `nb201` the shipped NB201 table, anything else a path."""
    return SHIPPED_PROXY_TABLE if path is None else SHIPPED_NB201_TABLE if path == "nb201" else Path(path)


def column_prefix(dataset: str) -> str:
    """The column prefix of a dataset of the data registry: cifar10, cifar100, imagenet16, proxy."""
    return {"imagenet16-120": "imagenet16"}.get(dataset, dataset)


class Benchmark:
    """Ground-truth accuracies (%) and costs of NB201 architectures."""

    kind = ""

    def __init__(self, path: Path, rows: dict[int, dict[str, float | None]]):
        self.path = path
        self._rows = rows  # arch index -> {column: value}

    def __contains__(self, arch: Arch) -> bool:
        return arch.index in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def archs(self) -> list[Arch]:
        return [Arch.from_index(i) for i in sorted(self._rows)]

    def columns(self) -> list[str]:
        """The columns this benchmark has values for."""
        return [c for c in COLUMNS if any(row.get(c) is not None for row in self._rows.values())]

    def query(self, arch: Arch) -> dict[str, float | None]:
        row = self._lookup(arch)
        return {column: row.get(column) for column in COLUMNS}

    def _lookup(self, arch: Arch) -> dict:
        if arch.index not in self._rows:
            raise BenchmarkError(
                f"architecture {arch} (index {arch.index}) is not in the benchmark {self.path} "
                f"({len(self)} architectures); a sampled table has no value for it"
            )
        return self._rows[arch.index]


class CompactTable(Benchmark):
    kind = "csv"

    def __init__(self, path: Path):
        try:
            table = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise BenchmarkError(
                f"benchmark table {path} is not a readable CSV ({err}); expected a compact table with an 'arch' column"
            ) from None
        if "arch" not in table.columns or not set(table.columns) & set(ACCURACY_COLUMNS):
            raise BenchmarkError(
                f"benchmark table {path} has columns {list(table.columns)}; a compact table needs "
                f"'arch' and at least one of {', '.join(ACCURACY_COLUMNS)}"
            )
        rows = {}
        for line, record in enumerate(table.to_dict("records"), start=2):
            try:
                arch = Arch.from_str(str(record["arch"]))
            except ArchError as err:
                raise BenchmarkError(f"benchmark table {path}, line {line}: {err}") from None
            if "index" in record and int(record["index"]) != arch.index:
                raise BenchmarkError(
                    f"benchmark table {path}, line {line}: index {record['index']} does not belong to "
                    f"{arch} (NB201 index {arch.index}); the table is not in NB201's index order"
                )
            rows[arch.index] = {c: (None if pd.isna(record[c]) else float(record[c])) for c in COLUMNS if c in record}
        super().__init__(path, rows)


class ApiBenchmark(Benchmark):
    """The official NAS-Bench-201 / NATS-Bench topology files, through their own API packages."""

    # column -> (API dataset name, key of get_more_info)
    QUERIES = {
        "cifar10_valid": ("cifar10-valid", "valid-accuracy"),
        "cifar10_test": ("cifar10", "test-accuracy"),
        "cifar100_valid": ("cifar100", "valid-accuracy"),
        "cifar100_test": ("cifar100", "test-accuracy"),
        "imagenet16_valid": ("ImageNet16-120", "valid-accuracy"),
        "imagenet16_test": ("ImageNet16-120", "test-accuracy"),
    }

    def __init__(self, path: Path, kind: str):
        self.kind = kind
        self.api = _open_api(path, kind)
        rows = (
            {index: None for index in self.api.evaluated_indexes}
            if self.api.evaluated_indexes
            else {index: None for index in range(len(self.api.meta_archs))}
        )
        super().__init__(path, rows)
        self._cache: dict[int, dict] = {}

    def columns(self) -> list[str]:
        return [c for c in COLUMNS if self.query(self.archs()[0]).get(c) is not None] if len(self) else []

    def _lookup(self, arch: Arch) -> dict:
        super()._lookup(arch)
        index = arch.index
        if self.api.meta_archs[index] != arch.to_str():
            raise BenchmarkError(
                f"{self.path}: index {index} holds {self.api.meta_archs[index]}, not {arch}; "
                f"the file is not in NB201's index order"
            )
        if index not in self._cache:
            self._cache[index] = self._query_api(index)
        return self._cache[index]

    def _query_api(self, index: int) -> dict:
        row = {}
        for column, (dataset, key) in self.QUERIES.items():
            with _quiet():
                try:
                    row[column] = float(self.api.get_more_info(index, dataset, hp="200", is_random=False)[key])
                except (KeyError, ValueError, TypeError):
                    row[column] = None  # this file has no such dataset or split for the arch
        with _quiet():
            try:
                cost = self.api.get_cost_info(index, "cifar10", hp="200")
                row["params_mb"], row["flops_m"] = float(cost["params"]), float(cost["flops"])
            except (KeyError, ValueError, TypeError):
                pass
        return row


def _open_api(path: Path, kind: str):
    try:
        with _quiet():
            if kind == "nas-bench-201":
                import torch  # only for the official file: the compact tables are read without it
                from nas_201_api import NASBench201API

                # The official file pickles plain Python objects, which torch's weights-only loader refuses.
                return NASBench201API(torch.load(path, map_location="cpu", weights_only=False), verbose=False)
            import nats_bench

            if path.is_dir():
                return nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
            with bz2.open(path, "rb") as handle:
                return nats_bench.create(pickle.load(handle), "tss", fast_mode=False, verbose=False)
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        RuntimeError,
        AssertionError,
        KeyError,
        ValueError,
        AttributeError,
    ) as err:
        expected = (
            "NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth"
            if kind == "nas-bench-201"
            else "NATS-tss-v1_0-3ffb9-full (file) or NATS-tss-v1_0-3ffb9-simple (directory)"
        )
        raise BenchmarkError(
            f"{path} is not a readable {kind} benchmark ({type(err).__name__}: {err}); "
            f"expected {expected}, or set benchmark.kind to match the file"
        ) from None


@contextlib.contextmanager
def _quiet():
    """The API packages print progress on stdout; the query stage's stdout is its answer."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def open_benchmark(config: dict) -> Benchmark:
    """The benchmark of `config["benchmark"]`: the shipped proxy table unless a path is given."""
    kind, path = config["benchmark"]["kind"], config["benchmark"]["path"]
    if kind == "none":
        raise BenchmarkError(
            "benchmark.kind is none: there is no ground truth to look architectures up in; "
            "train them with `naslid train-final`, or configure a benchmark"
        )
    path = shipped_or_path(path)
    if not path.exists():
        raise BenchmarkError(
            f"benchmark file {path} does not exist; set benchmark.path in the config to the "
            f"{kind} benchmark (null: the shipped proxy table; nb201: the shipped NB201 table)"
        )
    return CompactTable(path) if kind == "csv" else ApiBenchmark(path, kind)


def open_reference(config: dict) -> Benchmark | None:
    reference = config["benchmark"]["reference"]
    if reference is None:
        return None
    path = shipped_or_path(reference)
    if not path.is_file():
        raise BenchmarkError(
            f"reference table {path} does not exist; set benchmark.reference to a compact CSV table, "
            f"nb201 (the shipped NB201 table) or null"
        )
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
    return {
        "in_benchmark": True,
        **{k: v for k, v in values.items() if v is not None},
        "missing": [c for c in expected if values[c] is None],
    }


def optimum(benchmark: Benchmark, column: str) -> Arch | None:
    if column not in benchmark.columns():
        return None
    return max(benchmark.archs(), key=lambda a: (benchmark.query(a)[column] or float("-inf"), -a.index))


def protocol_archs(benchmark, column: str, percent: float | None) -> list[tuple]:
    """(arch, ground truth) of the best `percent` % of the benchmark, best first."""
    if column not in benchmark.columns():
        raise BenchmarkError(
            f"the benchmark {benchmark.path} has no column {column!r} to rank by "
            f"(it has {', '.join(benchmark.columns())}); check data.dataset and benchmark.path"
        )
    scored = sorted(((a, benchmark.query(a)[column]) for a in benchmark.archs()), key=lambda p: (-p[1], p[0].index))
    if percent is None:
        percent = 1.0 if len(benchmark) == NUM_ARCHS else 100.0
    return scored[: max(2, math.ceil(len(scored) * percent / 100))]
