"""The proxy task and its ground-truth table: the sample, resumable building, and the shipped rows."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from naslid.spaces.nb201.ground_truth import SHIPPED_PROXY_TABLE, CompactTable
from naslid.stages.build_benchmark import NB201_OPTIMA, build, op_counts, sample_archs
from naslid.config import load_config
from naslid.data import proxy
from naslid.errors import ConfigError
from naslid.spaces.nb201.encoding import Arch, all_archs


def test_sample_covers_every_op_count_stratum_and_nb201_optima():
    sample = sample_archs(200, seed=0)
    assert len(set(sample)) == 200 and sample == sorted(sample, key=lambda a: a.index)
    assert {op_counts(a) for a in sample} == {op_counts(a) for a in all_archs()}  # 84 strata
    assert len({op_counts(a) for a in all_archs()}) == 84
    assert {Arch.from_str(s) for s in NB201_OPTIMA} <= set(sample)
    assert sample_archs(200, seed=0) == sample and sample_archs(200, seed=1) != sample


def test_a_limited_proxy_task_is_the_first_images_of_the_whole_one():
    """`data.limit` draws only the images it keeps: they must be the whole task's first ones, in every
    split (each split's generator continues from the previous split's)."""
    whole, limited = proxy.generate(), proxy.generate(50)
    for name in proxy.SPLIT_SIZES:
        assert np.array_equal(limited[name][0], whole[name][0][:50])
        assert np.array_equal(limited[name][1], whole[name][1][:50])


def test_proxy_task_is_deterministic_balanced_and_not_colour_separable():
    first, second = proxy.generate(), proxy.generate()
    for name, n in proxy.SPLIT_SIZES.items():
        images, labels = first[name]
        assert images.shape == (n, 3, 16, 16) and images.dtype == np.uint8
        assert np.array_equal(images, second[name][0]) and np.array_equal(labels, second[name][1])
        assert np.bincount(labels, minlength=10).min() > n / 10 * 0.8
    # The mean colour of an image says nothing about its class: a nearest-class-mean classifier on
    # mean RGB is near chance (10%).
    (train_x, train_y), (valid_x, valid_y) = first["train"], first["valid"]
    means = np.stack([train_x[train_y == c].mean(axis=(0, 2, 3)) for c in range(10)])
    guess = np.argmin(((valid_x.mean(axis=(2, 3))[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (guess == valid_y).mean() < 0.2


def test_period_bins_make_the_texture_period_part_of_the_class(monkeypatch):
    """The knob scripts/proxy_seed_trial.py screens: two period ranges, 20 classes, and the period
    measured in the images (the strongest spatial frequency above the shapes' outlines) follows
    the range named by the label."""
    assert len(proxy.classes()) == 10
    monkeypatch.setattr(proxy, "PERIOD_BINS", ((3.0, 3.6), (4.6, 5.4)))
    assert len(proxy.classes()) == 20
    images, labels = proxy.render(np.random.default_rng(0), 600)
    assert set(np.unique(labels)) == set(range(20))
    gray = images.astype(float).mean(axis=1)
    power = np.abs(np.fft.fft2(gray - gray.mean(axis=(1, 2), keepdims=True))) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(16), np.fft.fftfreq(16), indexing="ij"))
    power[:, radius < 1 / 6] = 0  # periods above 6 px: the shape, not its texture
    period = 1 / radius.reshape(-1)[power.reshape(len(images), -1).argmax(axis=1)]
    coarse = labels >= 10
    assert np.median(period[~coarse]) < 4.1 < np.median(period[coarse])


def _tiny_build_config(tmp_path, **build_benchmark):
    return load_config(
        None,
        {
            "data": {"limit": 128, "augment": False},
            "build_benchmark": {"epochs": 1, "seeds": 2, "workers": 1, "C": 4, **build_benchmark},
        },
    )


def test_build_resumes_from_finished_parts_and_refuses_another_recipe(tmp_path):
    config = _tiny_build_config(tmp_path)
    out = tmp_path / "table.csv"
    parts = tmp_path / "table.csv.parts"
    parts.mkdir()
    (parts / "recipe.json").write_text(
        json.dumps(
            {
                "data": config["data"],
                "build_benchmark": {k: v for k, v in config["build_benchmark"].items() if k != "workers"},
            }
        )
    )
    # A training finished in an earlier sitting, with a value no real training gives.
    (parts / "00003-s0.json").write_text(
        json.dumps({"index": 3, "seed": 0, "valid_acc": 99.5, "test_acc": 99.5, "seconds": 1.0})
    )
    table = build(config, out, indices=[3, 9930])
    assert list(table.columns) == [
        "index",
        "arch",
        "proxy_valid",
        "proxy_test",
        "params_mb",
        "flops_m",
        "valid_acc_s0",
        "valid_acc_s1",
        "test_acc_s0",
        "test_acc_s1",
    ]
    assert table.loc[table["index"] == 3, "valid_acc_s0"].item() == 99.5  # reused, not retrained
    assert not parts.exists() and out.with_suffix(".json").is_file()
    assert CompactTable(out).query(Arch.from_index(9930))["proxy_valid"] == pytest.approx(
        table["proxy_valid"].iloc[1], abs=1e-4
    )

    parts.mkdir()
    (parts / "recipe.json").write_text(json.dumps({"data": config["data"], "build_benchmark": {"epochs": 99}}))
    with pytest.raises(ConfigError, match="another data/build_benchmark config"):
        build(config, out, indices=[3])


@pytest.fixture(scope="module")
def shipped():
    if not SHIPPED_PROXY_TABLE.is_file():
        pytest.fail(f"{SHIPPED_PROXY_TABLE} is missing; build it with config/proxy_benchmark.yaml")
    return pd.read_csv(SHIPPED_PROXY_TABLE)


def test_shipped_table_meets_its_documented_quality(shipped):
    assert len(shipped) >= 200 and {6111, 9930} <= set(shipped["index"])
    valid = shipped["proxy_valid"]
    assert np.percentile(valid, 90) - np.percentile(valid, 10) >= 10
    assert 70 < valid.max() < 100
    assert scipy.stats.kendalltau(shipped["valid_acc_s0"], shipped["valid_acc_s1"])[0] >= 0.6
    # Not asserted: the goal of tau >= 0.3 between seeds among the top 50. The shipped
    # table measures 0.06 there (naslid/data/README.md): its best architectures differ by less
    # than the seed-to-seed noise.


@pytest.mark.slow(reason="trains three stand-alone networks (140 s)")
def test_rebuilding_three_shipped_architectures_matches_their_rows(tmp_path, shipped):
    """The table is reproducible from its recipe: NB201's CIFAR-100 optimum (index 9930) rebuilt, both
    seeds, matches its row (one architecture: a rebuild takes 8 epochs per seed)."""
    record = json.loads(SHIPPED_PROXY_TABLE.with_suffix(".json").read_text())
    config = load_config(None, {k: record["config"][k] for k in ("data", "build_benchmark")})
    picks = [9930]
    table = build(config, tmp_path / "rebuilt.csv", indices=picks)
    # Training is bit-reproducible on one machine, not across CPUs: oneDNN picks other kernels on
    # another CPU, and 8 epochs of SGD turn the rounding into a small reseed. Rebuilt on an Intel
    # Xeon, the rows built on an AMD EPYC differed by up to 1.05 points (mean 0.44); two seeds of
    # the table differ by 1.4 on average. A changed recipe moves them by more than these bounds.
    accuracy = ("valid_acc_s0", "valid_acc_s1", "test_acc_s0", "test_acc_s1")
    rows = shipped.set_index("index").loc[picks]
    gaps = np.abs(table[list(accuracy)].to_numpy() - rows[list(accuracy)].to_numpy())
    assert gaps.max() <= 1.5 and gaps.mean() <= 0.75, gaps
    for column in ("params_mb", "flops_m"):
        assert table[column].to_numpy() == pytest.approx(rows[column].to_numpy(), rel=1e-3, abs=1e-4), column
