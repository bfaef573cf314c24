"""The benchmark interface: official-format files and compact tables give the same answers; what a
benchmark lacks is reported, never guessed."""

import bz2
import pickle

import pandas as pd
import pytest
import torch

from naslid.spaces.nb201.ground_truth import COLUMNS, ApiBenchmark, CompactTable, open_benchmark
from naslid.config import load_config
from naslid.errors import BenchmarkError
from naslid.spaces.nb201.encoding import Arch, all_archs

# Ground truth for three architectures, in the compact table's columns (values are arbitrary).
ROWS = {
    9930: {
        "cifar10_valid": 91.55,
        "cifar10_test": 94.36,
        "cifar100_valid": 73.49,
        "cifar100_test": 73.51,
        "imagenet16_valid": 46.77,
        "imagenet16_test": 46.34,
        "params_mb": 1.288506,
        "flops_m": 184.6,
    },
    0: {
        "cifar10_valid": 81.98,
        "cifar10_test": 85.86,
        "cifar100_valid": 52.8,
        "cifar100_test": 52.91,
        "imagenet16_valid": 26.1,
        "imagenet16_test": 26.63,
        "params_mb": 0.129306,
        "flops_m": 15.6,
    },
    1651: {
        "cifar10_valid": 10.0,
        "cifar10_test": 10.0,
        "cifar100_valid": 1.0,
        "cifar100_test": 1.0,
        "imagenet16_valid": 0.83,
        "imagenet16_test": 0.83,
        "params_mb": 0.0,
        "flops_m": 1.0,
    },
}
EPOCHS = 3


def _trial(name, arch, seed, evals, params, flops):
    """One NB201 trial (`ResultsCount`) with the last-epoch accuracy `evals[set_name]` on each eval set."""
    from nas_201_api.api_utils import ResultsCount

    trial = ResultsCount(
        name,
        None,
        {e: 50.0 for e in range(EPOCHS)},
        {e: 1.0 for e in range(EPOCHS)},
        params,
        flops,
        {"arch_str": arch.to_str(), "channel": 16, "num_cells": 5, "class_num": 10},
        seed,
        EPOCHS,
        None,
    )
    accs, losses, times = {}, {}, {}
    for set_name, accuracy in evals.items():
        for e in range(EPOCHS):
            accs[f"{set_name}@{e}"] = accuracy if e == EPOCHS - 1 else 0.0
            losses[f"{set_name}@{e}"], times[f"{set_name}@{e}"] = 1.0, 0.1
    trial.update_eval(accs, losses, times)
    return trial


def _arch_results(index, row, shift):
    """NB201's `ArchResults` of one architecture: two seeds per dataset, 1 point apart around the row's value."""
    from nas_201_api.api_utils import ArchResults

    arch = Arch.from_index(index)
    results = ArchResults(index, arch.to_str())
    datasets = {
        "cifar10-valid": {"x-valid": row["cifar10_valid"], "ori-test": row["cifar10_test"] - 3},
        "cifar10": {"ori-test": row["cifar10_test"]},
        "cifar100": {"x-valid": row["cifar100_valid"], "x-test": row["cifar100_test"]},
        "ImageNet16-120": {"x-valid": row["imagenet16_valid"], "x-test": row["imagenet16_test"]},
    }
    for dataset, sets in datasets.items():
        for seed, delta in ((777, -0.5), (888, 0.5)):
            evals = {name: value + delta + shift for name, value in sets.items()}
            results.update(dataset, seed, _trial(dataset, arch, seed, evals, row["params_mb"], row["flops_m"]))
    return results.state_dict()


def _official_dict(hp_keys):
    """A benchmark dict in the official layout: every arch string, results for the ROWS only.
    The 12-epoch results are 20 points lower, so reading the wrong schedule shows."""
    infos = {
        index: {hp_keys[0]: _arch_results(index, row, -20.0), hp_keys[1]: _arch_results(index, row, 0.0)}
        for index, row in ROWS.items()
    }
    return {"meta_archs": [a.to_str() for a in all_archs()], "arch2infos": infos, "evaluated_indexes": sorted(ROWS)}


@pytest.fixture(scope="module")
def nb201_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb201") / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(_official_dict(("less", "full")), path)
    return path


@pytest.fixture(scope="module")
def nats_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-full"
    with bz2.open(path, "wb") as handle:
        pickle.dump(_official_dict(("12", "200")), handle)
    return path


@pytest.fixture(scope="module")
def compact_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    pd.DataFrame([{"index": i, "arch": Arch.from_index(i).to_str(), **row} for i, row in ROWS.items()]).to_csv(
        path, index=False
    )
    return path


def test_official_files_and_compact_table_agree(nb201_file, nats_file, compact_file):
    backends = [
        ApiBenchmark(nb201_file, "nas-bench-201"),
        ApiBenchmark(nats_file, "nats-tss"),
        CompactTable(compact_file),
    ]
    for index, row in ROWS.items():
        answers = [b.query(Arch.from_index(index)) for b in backends]
        for answer in answers:
            assert set(answer) == set(COLUMNS)
            for column, value in row.items():
                assert answer[column] == pytest.approx(value, abs=1e-9), (column, answer)
            assert answer["proxy_valid"] is None  # not in these benchmarks: reported missing


def test_arch_outside_the_benchmark_is_an_error_not_a_guess(nb201_file, compact_file):
    outside = Arch.from_index(42)
    for backend in (ApiBenchmark(nb201_file, "nas-bench-201"), CompactTable(compact_file)):
        assert outside not in backend
        with pytest.raises(BenchmarkError, match="not in the benchmark"):
            backend.query(outside)


def test_missing_columns_are_reported_as_none(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame([{"arch": Arch.from_index(5).to_str(), "cifar10_test": 90.0}]).to_csv(path, index=False)
    table = CompactTable(path)
    assert table.columns() == ["cifar10_test"]
    answer = table.query(Arch.from_index(5))
    assert answer["cifar10_test"] == 90.0 and answer["cifar100_valid"] is None and answer["flops_m"] is None


@pytest.mark.parametrize(
    "kind, content, message",
    [
        ("csv", None, "does not exist"),
        ("csv", "index,name\n0,x\n", "needs 'arch'"),
        ("csv", "arch,cifar10_test\n|bogus~0|,1\n", "line 2: malformed architecture string"),
        (
            "csv",
            "index,arch,cifar10_test\n7,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n",
            "not in NB201's index order",
        ),
        ("nas-bench-201", None, "does not exist"),
        ("nas-bench-201", "not a torch file", "is not a readable nas-bench-201 benchmark"),
        ("nats-tss", "not a bz2 pickle", "is not a readable nats-tss benchmark"),
    ],
)
def test_bad_benchmark_files_fail_with_one_clear_message(tmp_path, kind, content, message):
    path = tmp_path / "bench"
    if content is not None:
        path.write_text(content)
    config = load_config(None, {"benchmark": {"kind": kind, "path": str(path)}})
    with pytest.raises(BenchmarkError, match=message):
        open_benchmark(config)


def test_compact_nb201_table_loads_and_answers_the_documented_optimum(nb201_table):
    from conftest import NB201_TABLE

    table = CompactTable(NB201_TABLE)
    assert len(table) == 15625
    answer = table.query(Arch.from_index(6111))
    assert answer["cifar10_valid"] == pytest.approx(91.6067, abs=1e-3)
    assert answer["cifar100_valid"] is None  # the compact table has no CIFAR-100 validation column
