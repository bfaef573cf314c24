"""The study's report (naslid/study.py) on synthetic finished arms: the rows it makes, the family its
stars are corrected over, and split stability by scikit-learn's adjusted Rand index."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import yaml
from sklearn.metrics import adjusted_rand_score

from conftest import paired_p_values, REPO
from naslid.config import load_config
from naslid.method import stats
from naslid.study import report

SEEDS = [0, 1, 2, 3, 4]


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def _arm(results: Path, arm: str, noise: dict, rng, truth, seeds: list | None = None) -> dict:
    """A finished arm: its merged config and, per criterion and seed, rank.json and baselines.json."""
    config = load_config([REPO / "config/study/base.yaml", REPO / f"config/study/{arm}.yaml"])
    config["workflow"]["seeds"] = seeds or config["workflow"]["seeds"]
    folder = results / f"study-{arm}"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    first, second = truth + rng.normal(0, 0.5, len(truth)), truth + rng.normal(0, 0.5, len(truth))
    for seed in config["workflow"]["seeds"]:
        for criterion in config["workflow"]["criteria"]:
            estimate = truth + rng.normal(0, noise.get(criterion, 2.0), len(truth))
            _write(
                folder / criterion / f"s{seed}" / "rank.json",
                {
                    "criterion": criterion,
                    "seed": seed,
                    "estimates": [
                        {"arch": f"a{i}", "index": i, "ground_truth": t, "estimate": e}
                        for i, (t, e) in enumerate(zip(truth, estimate))
                    ],
                },
            )

        def records(values, truth=truth):
            return [
                {"arch": f"a{i}", "index": i, "ground_truth": t, "estimate": v}
                for i, (t, v) in enumerate(zip(truth, values))
            ]

        _write(
            folder / f"s{seed}" / "baselines.json",
            {
                "seed": seed,
                "baselines": [
                    {
                        "baseline": "params",
                        "description": "parameters",
                        "estimates": records(truth + rng.normal(0, 1, len(truth))),
                    }
                ],
                "ceiling": {
                    "columns": ["s0", "s1"],
                    "description": "two seeds",
                    "estimates": [
                        {**r, "ground_truth": (f + s) / 2, "versus": f}
                        for r, f, s in zip(records(second), first, second)
                    ],
                },
            },
        )
    return config


def _split(results: Path, arm: str, criterion: str, seed: int, edge: str, groups, batches: int) -> None:
    _write(
        results / f"study-{arm}" / criterion / f"s{seed}" / "split" / "r.json",
        {"edge": edge, "groups": groups, "config": {"lid": {"batches": batches}, "gradient": {"batches": batches}}},
    )


def test_report_makes_the_study_table_with_holm_over_every_arm_and_the_split_stability(tmp_path):
    rng = np.random.default_rng(3)
    results = tmp_path / "results"
    truth = np.round(rng.normal(90, 3, 60), 2)
    _arm(results, "ft2", {"lid": 0.5}, rng, truth)  # lid clearly better than none and random here
    _arm(results, "ft10", {}, rng, truth)
    groups = {
        0: [["none", "skip_connect"], ["avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"]],
        1: [["none", "avg_pool_3x3"], ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]],
    }
    for seed in SEEDS:
        _split(results, "ft2", "lid", seed, "1<-0" if seed < 4 else "2<-1", groups[seed % 2], 4)
        _split(results, "profile50", "lid", seed, "1<-0", groups[0], 50)
    report(results, tmp_path / "out")

    numbers = pd.read_csv(tmp_path / "out" / "study.csv")
    criteria = ["exhaustive", "gradient", "lid", "none", "nonlinear-count", "random"]
    assert list(numbers["criterion"][:12]) == criteria * 2 and list(numbers["arm"][:12]) == ["ft2"] * 6 + ["ft10"] * 6
    assert list(numbers["criterion"][12:]) == ["params", "seed vs seed", "ceiling"]  # once, from ft2
    lid = numbers[(numbers["arm"] == "ft2") & (numbers["criterion"] == "lid")].iloc[0]
    ranks = [
        json.loads((results / "study-ft2" / "lid" / f"s{s}" / "rank.json").read_text())["estimates"] for s in SEEDS
    ]
    taus = [scipy.stats.kendalltau([e["ground_truth"] for e in r], [e["estimate"] for e in r])[0] for r in ranks]
    assert lid["tau_all"] == pytest.approx(np.mean(taus)) and lid["seeds"] == 5
    # One family: every paired difference of the study, both arms, both controls, all and top-50.
    p = paired_p_values(numbers)
    assert len(p) == 2 * (5 + 5) * 2 + 2 * 2  # each arm: 5 rows vs none, 5 vs random, 2 sets; params twice
    assert {k for k in p if numbers.loc[k[0], f"{k[1]}_holm"]} == stats.holm(p)
    assert lid["dtau_none_all_holm"] and lid["dtau_random_all_holm"]
    cells = (tmp_path / "out" / "study.md").read_text()
    assert "Δτ vs random all" in cells and " *" in cells

    precision = pd.read_csv(tmp_path / "out" / "precision.csv").set_index(["arm", "paired test"])
    assert len(precision) == 2 * (5 + 4)  # each arm: 5 criteria vs none, 4 vs random (none vs random once)
    lid_none = precision.loc[("ft2", "lid − none")]
    assert lid_none["half-width"] == pytest.approx((lid["dtau_none_all_hi"] - lid["dtau_none_all_lo"]) / 2, abs=0.01)
    assert lid_none["floor (architectures)"] <= lid_none["at 40 seeds"] <= lid_none["at 10 seeds"]

    stability = pd.read_csv(tmp_path / "out" / "stability.csv").set_index(["criterion", "profiling batches"])
    labels = {s: [0, 0, 1, 1, 1] if s % 2 == 0 else [0, 1, 0, 1, 1] for s in SEEDS}  # ops sorted by name
    pairs = [(a, b) for a in SEEDS for b in SEEDS if a < b]
    expected = np.mean([adjusted_rand_score(labels[a], labels[b]) for a, b in pairs])
    fewer, more = stability.loc[("lid", 4)], stability.loc[("lid", 50)]
    assert fewer["seed pairs on the same edge"] == "6/10"  # seeds 0-3 on 1<-0, seed 4 on 2<-1
    assert fewer["partition ARI across seeds (mean [min, max])"].startswith(f"{expected:.2f} [")
    assert more["seed pairs on the same edge"] == "10/10"  # every seed on 1<-0, one partition
    assert more["partition ARI across seeds (mean [min, max])"] == "1.00 [1.00, 1.00]"
    assert more["same edge as with fewer batches"] == "4/5"
    agreement = np.mean([adjusted_rand_score(labels[0], labels[s]) for s in SEEDS])
    assert more["partition ARI vs fewer batches"].startswith(f"{agreement:.2f} [")
    assert "s4: 2<-1 {none, skip_connect} vs {avg_pool_3x3, nor_conv_1x1, nor_conv_3x3}" in fewer["split per seed"]


def test_report_without_a_finished_arm_says_what_to_run(tmp_path):
    from naslid.errors import NaslidError

    with pytest.raises(NaslidError, match="scripts/study.py run curve"):
        report(tmp_path, tmp_path / "out")


def test_the_parts_run_every_criterion_of_every_arm_and_nothing_else():
    """Each arm of config/study/ runs in some part, and the parts that cut an arm by criterion or seed
    (the 50-epoch arms, cut to fit 2.5 h) run each of its (criterion, seed) once, in one part; every
    criterion's first five seeds (the study's minimum) come before any later seed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("study_script", REPO / "scripts" / "study.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    overlays = sorted(p.stem for p in (REPO / "config" / "study").glob("*.yaml") if p.stem != "base")
    assert script.ARMS == overlays
    for arm in overlays:
        workflow = load_config([REPO / "config/study/base.yaml", REPO / f"config/study/{arm}.yaml"])["workflow"]
        ran = [
            (criterion, seed)
            for part in script.PARTS.values()
            for a, criteria, seeds in part
            if a == arm
            for criterion in criteria or workflow["criteria"]
            for seed in seeds or workflow["seeds"]
        ]
        assert len(ran) == len(set(ran)), f"{arm}: a criterion runs a seed in two parts"
        assert set(ran) == {(c, s) for c in workflow["criteria"] for s in workflow["seeds"]}, arm
        later = [seed >= 5 for _, seed in ran]  # in the order of the parts
        assert later == sorted(later), f"{arm}: a part runs a later seed before another runs a first five"
    assert script.cut_criteria(["lid"]) == ["lid", "none"]  # `run ARM --criteria`: a control comes along
    assert script.cut_criteria(["random", "lid"]) == ["lid", "random"]


def _benchmark(path: Path, cpu: float, log: str | None = None) -> None:
    """A job's Snakemake benchmark file (its header as Snakemake writes it) and, if given, its log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        f"{cpu + 5}\t0:00:{int(cpu) % 60:02d}\t1\t1\t1\t1\t0\t0\t90\t{cpu}\n"
    )
    if log is not None:
        logs = Path(str(path).replace("/times/", "/logs/")).with_suffix(".log")
        logs.parent.mkdir(parents=True, exist_ok=True)
        logs.write_text(log)


def test_cost_sums_each_criterions_jobs_per_seed_counts_resumed_ones_and_the_shared_pretraining_once(tmp_path):
    from naslid.stages import pretrained_folder
    from naslid.study import cost_table

    results = tmp_path / "results"
    for arm in ("ft2", "ft50"):
        config = load_config([REPO / "config/study/base.yaml", REPO / f"config/study/{arm}.yaml"])
        folder = results / f"study-{arm}"
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        for seed, cpu in ((0, 100.0), (1, 300.0)):
            _benchmark(folder / "lid" / f"s{seed}" / "times" / "finetune" / "r00.tsv", cpu, "epoch 1 of 2\n")
            _benchmark(folder / "lid" / f"s{seed}" / "times" / "rank.tsv", 20.0)
            _benchmark(folder / "times" / f"s{seed}" / "baselines.tsv", 7.0)
        _benchmark(
            folder / "lid" / "s1" / "times" / "finetune" / "r01.tsv", 50.0, "resumed finetune at epoch 3 of 50\n"
        )
    pretrained = tmp_path / pretrained_folder(config)  # ft2 and ft50 share it
    for seed in (0, 1):
        _benchmark(pretrained / "times" / f"s{seed}" / "pretrain.tsv", 400.0)

    cost = cost_table(results).set_index(["arm", "part"])
    lid = cost.loc[("ft50", "lid")]
    assert (lid["seeds"], lid["jobs"], lid["resumed jobs"]) == (2, 5, 1)
    assert lid["CPU h"] == round((120 + 370) / 3600, 2)
    assert lid["CPU s per seed (median [min, max])"] == "245 [120, 370]"
    assert cost.loc[("ft2", "baselines"), "jobs"] == 2
    shared = cost.loc[("ft2, ft50", f"pretraining ({pretrained.name})")]
    assert (shared["jobs"], shared["CPU h"]) == (2, round(800 / 3600, 2))
    assert ("ft50", "gradient") not in cost.index  # no job ran: no row

    config["name"], config["workflow"]["shared_pretrain"] = "study-ft10", False  # pretrains beside its baselines
    folder = results / "study-ft10"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    _benchmark(folder / "times" / "s0" / "baselines.tsv", 7.0)
    _benchmark(folder / "times" / "s0" / "pretrain.tsv", 400.0)
    cost = cost_table(results).set_index(["arm", "part"])
    assert cost.loc[("ft10", "baselines"), "CPU s per seed (median [min, max])"] == "7 [7, 7]"
    assert cost.loc[("ft10", "pretraining (study-ft10)"), "CPU s per seed (median [min, max])"] == "400 [400, 400]"


def test_curve_gives_each_budget_its_paired_gain_over_the_budget_before(tmp_path):
    rng = np.random.default_rng(5)
    results = tmp_path / "results"
    truth = np.round(rng.normal(90, 3, 60), 2)
    _arm(results, "curve-200", {"none": 0.5}, rng, truth)  # written first: the table orders by epochs
    _arm(results, "curve-100", {"none": 2.0}, rng, truth)
    report(results, tmp_path / "out")

    curve = pd.read_csv(tmp_path / "out" / "curve.csv").set_index("pretrain epochs")

    def tau(arm, seed):
        ranked = json.loads((results / f"study-{arm}" / "none" / f"s{seed}" / "rank.json").read_text())["estimates"]
        return scipy.stats.kendalltau([e["ground_truth"] for e in ranked], [e["estimate"] for e in ranked])[0]

    gain = np.mean([tau("curve-200", s) - tau("curve-100", s) for s in (0, 1)])
    assert list(curve.index) == [100, 200] and np.isnan(curve.loc[100, "dtau_before"])
    assert curve.loc[200, "dtau_before"] == pytest.approx(gain) and gain > 0.1
    assert curve.loc[200, "dtau_before_lo"] < gain < curve.loc[200, "dtau_before_hi"]
    assert "Δτ all vs the budget before" in (tmp_path / "out" / "curve.md").read_text()


def test_a_criterion_counts_once_it_has_five_seeds_and_pairs_over_the_seeds_both_ran(tmp_path):
    """Seeds added to an arm (the way to a tighter interval) do not hide its rows until the last ends;
    an arm that asks fewer than five seeds shows once all of them have finished."""
    rng = np.random.default_rng(7)
    results = tmp_path / "results"
    truth = np.round(rng.normal(90, 3, 60), 2)
    _arm(results, "ft50", {"lid": 1.0}, rng, truth, seeds=list(range(7)))
    _arm(results, "n2-ft50", {}, rng, truth)  # asks three seeds: all of them make a row
    folder = results / "study-ft50"
    for criterion, unfinished in (("lid", (5, 6)), ("random", (4, 5, 6)), ("gradient", range(7))):
        for seed in unfinished:
            (folder / criterion / f"s{seed}" / "rank.json").unlink()
    report(results, tmp_path / "out")

    numbers = pd.read_csv(tmp_path / "out" / "study.csv")
    rows = numbers[numbers["arm"] == "ft50"].set_index("criterion")
    assert list(rows.index) == ["lid", "none"] and list(rows["seeds"]) == [5, 7]
    assert set(rows["note"]) == {"left out, seeds finished: gradient (0/7 seeds), random (4/7 seeds)"}
    n2 = numbers[numbers["arm"] == "n2-ft50"]
    assert sorted(n2["criterion"]) == ["gradient", "lid", "none", "random"] and set(n2["seeds"]) == {3}

    def tau(criterion, seed):
        ranked = json.loads((folder / criterion / f"s{seed}" / "rank.json").read_text())["estimates"]
        return scipy.stats.kendalltau([e["ground_truth"] for e in ranked], [e["estimate"] for e in ranked])[0]

    paired = np.mean([tau("lid", s) - tau("none", s) for s in range(5)])  # the five seeds both ran
    assert rows.loc["lid", "dtau_none_all"] == pytest.approx(paired)
    assert rows.loc["none", "tau_all"] == pytest.approx(np.mean([tau("none", s) for s in range(7)]))


def test_an_arm_without_none_pairs_its_rows_with_the_random_split(tmp_path):
    """A cut arm that ran a criterion and `random` but not `none` (the re-initialised control's
    lid-vs-random half) still makes rows, each paired with random."""
    rng = np.random.default_rng(11)
    results = tmp_path / "results"
    truth = np.round(rng.normal(90, 3, 60), 2)
    _arm(results, "ft50-scratch", {"lid": 1.0}, rng, truth)
    for criterion in ("none", "gradient"):
        for seed in SEEDS:
            (results / "study-ft50-scratch" / criterion / f"s{seed}" / "rank.json").unlink()
    report(results, tmp_path / "out")

    rows = pd.read_csv(tmp_path / "out" / "study.csv").query("arm == 'ft50-scratch'").set_index("criterion")
    assert list(rows.index) == ["lid", "random"] and "dtau_none_all" not in rows
    assert rows.loc["lid", "dtau_random_all"] == pytest.approx(
        rows.loc["lid", "tau_all"] - rows.loc["random", "tau_all"]
    )
    assert rows.loc["lid", "dtau_random_all_lo"] > 0  # lid's estimates are the less noisy here


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_kept_runs_rebuild_the_same_tables_with_the_pretrained_supernets_only(tmp_path):
    """`keep` makes a results tree that outlives the machine: the report reads it as the workflow's
    (the study table, the curve's sampled-path accuracy, which job resumed); it keeps the pretrained
    supernets, the parents a later half pairs on, and no fine-tuned weights or resume checkpoints."""
    from naslid.stages import pretrained_folder
    from naslid.study import keep

    rng = np.random.default_rng(13)
    results, kept = tmp_path / "results", tmp_path / "kept"
    truth = np.round(rng.normal(90, 3, 60), 2)
    config = _arm(results, "ft2", {"lid": 1.0}, rng, truth)
    curve = _arm(results, "curve-100", {}, rng, truth)  # shares ft2's pretraining
    pretrained = tmp_path / pretrained_folder(config)
    for seed in SEEDS:
        _benchmark(pretrained / "times" / f"s{seed}" / "pretrain.tsv", 400.0, "epoch 1 of 100\n")
        _write(pretrained / f"s{seed}" / "pretrain" / "metrics.json", {"metrics": [{"valid_acc": 50.0 + seed}]})
        (pretrained / f"s{seed}" / "pretrain" / "supernet.pt").write_bytes(b"parent")
        (pretrained / f"s{seed}" / "pretrain" / "supernet.pt.resume").write_bytes(b"checkpoint")
        final = results / "study-ft2" / "lid" / f"s{seed}" / "final"
        final.mkdir(parents=True)
        (final / "r0.pt").write_bytes(b"fine-tuned")
        (results / "study-ft2" / "lid" / f"s{seed}" / "rank.json.resume").write_bytes(b"checkpoint")
    _benchmark(results / "study-ft2" / "lid" / "s1" / "times" / "finetune" / "r0.tsv", 50.0, "resumed at epoch 3\n")

    assert keep(results, kept) == ["curve-100", "ft2"]
    names = [p.name for p in kept.rglob("*") if p.is_file()]
    assert names.count("supernet.pt") == 5 and not [n for n in names if n.endswith((".resume", "r0.pt"))]
    report(results, tmp_path / "from-results")
    results.rename(tmp_path / "gone")  # the machine that ran them is gone
    report(kept, tmp_path / "from-kept")
    (tmp_path / "gone").rename(results)
    for table in ("study.csv", "curve.csv", "cost.csv"):
        assert (tmp_path / "from-kept" / table).read_text() == (tmp_path / "from-results" / table).read_text()
    cost = pd.read_csv(tmp_path / "from-kept" / "cost.csv").set_index(["arm", "part"])
    assert cost.loc[("ft2", "lid"), "resumed jobs"] == 1
    accuracy = np.mean([50.0 + seed for seed in curve["workflow"]["seeds"]])
    assert pd.read_csv(tmp_path / "from-kept" / "curve.csv")["sampled-path valid acc %"][0] == accuracy

    stamp = (kept / "study-ft2" / "config.yaml").stat().st_mtime_ns
    keep(results, kept)  # nothing new: nothing rewritten
    assert (kept / "study-ft2" / "config.yaml").stat().st_mtime_ns == stamp


def test_keep_joins_seeds_and_refuses_another_config_another_draw_and_a_running_workflow(tmp_path):
    """Runs of another config or another draw of the same seed are not mixed into the kept ones, and
    nothing is kept while Snakemake writes; a run of other seeds adds to them."""
    from naslid.errors import NaslidError
    from naslid.stages import pretrained_folder
    from naslid.study import keep

    rng = np.random.default_rng(17)
    results, kept = tmp_path / "results", tmp_path / "kept"
    truth = np.round(rng.normal(90, 3, 60), 2)
    config = _arm(results, "ft2", {}, rng, truth, seeds=[5, 6])
    _arm(results, "ft10", {}, rng, truth, seeds=[5, 6])
    (tmp_path / pretrained_folder(config)).mkdir(parents=True)
    keep(results, kept)
    config["workflow"]["seeds"] = SEEDS  # a later run of seeds 0-4 only
    (results / "study-ft2" / "config.yaml").write_text(yaml.safe_dump(config))
    keep(results, kept)
    assert load_config(kept / "study-ft2" / "config.yaml")["workflow"]["seeds"] == [0, 1, 2, 3, 4, 5, 6]

    before = _tree(kept)
    rank = results / "study-ft10" / "lid" / "s5" / "rank.json"
    rank.write_text(rank.read_text().replace('"estimate": ', '"estimate": 1 + '))  # another draw
    with pytest.raises(NaslidError, match="1 kept result.*study-ft10/lid/s5/rank.json.*--replace"):
        keep(results, kept)
    config["finetune"]["epochs"] = 3
    (results / "study-ft2" / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(NaslidError, match="another config \\(finetune.epochs: 2 kept, 3 here\\)"):
        keep(results, kept)
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("")
    with pytest.raises(NaslidError, match="a Snakemake run is writing into"):
        keep(results, kept)
    assert _tree(kept) == before  # no refusal copies anything
    with pytest.raises(NaslidError, match="holds no study arm"):
        keep(tmp_path / "nowhere", kept)

    config["finetune"]["epochs"] = 2
    (results / "study-ft2" / "config.yaml").write_text(yaml.safe_dump(config))
    (locks / "0.output.lock").unlink()
    leftover = kept / "study-ft10" / "lid" / "s5" / "final" / "r3.json"  # the kept run's, not this one's
    other_seed = kept / "study-ft10" / "lid" / "s7" / "final" / "r3.json"  # a seed this run lacks
    for path in (leftover, other_seed):
        _write(path, {"metrics": []})
    keep(results, kept, replace=True)
    assert (kept / "study-ft10" / "lid" / "s5" / "rank.json").read_text() == rank.read_text()
    assert not leftover.exists() and other_seed.is_file()  # a replaced seed is replaced whole, no more


def test_keep_takes_a_rerun_that_differs_only_in_the_times_it_measured(tmp_path):
    """The same arm and seed run again on the same machine is bit-identical but for its measured
    times (README.md, "Reproducibility") and, from another checkout, the benchmark's path: the same
    draw, which `keep` takes, leaving the kept files and logs; other weights are another draw, refused."""
    import torch

    from naslid.errors import NaslidError
    from naslid.stages import pretrained_folder
    from naslid.study import keep

    rng = np.random.default_rng(5)
    results, kept = tmp_path / "results", tmp_path / "logs" / "kept"  # a folder named logs above: no matter
    config = _arm(results, "ft10", {}, rng, np.round(rng.normal(90, 3, 60), 2), seeds=[5])
    parent = tmp_path / pretrained_folder(config) / "s5" / "pretrain" / "supernet.pt"
    split = results / "study-ft10" / "lid" / "s5" / "split" / "r.json"
    rank = results / "study-ft10" / "lid" / "s5" / "rank.json"
    log = tmp_path / pretrained_folder(config) / "logs" / "s5" / "pretrain.log"
    weights = {"stem.weight": torch.arange(6.0)}

    def run(seconds: float, arm: str, weights: dict) -> None:
        parent.parent.mkdir(parents=True, exist_ok=True)
        metrics = [{"epoch": 1, "train_acc": 11.5, "seconds": seconds}]
        torch.save({"kind": "supernet", "state_dict": weights, "config": {"name": arm}, "metrics": metrics}, parent)
        _write(split, {"edge": "2<-1", "scores": [{"partition_score": 0.7, "seconds": seconds}]})
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"epoch 1 took {seconds} s")
        ranked = json.loads(rank.read_text())
        _write(rank, {**ranked, "benchmark": f"/checkout-of-{arm}/naslid/data/proxy_benchmark.csv"})

    run(1.5, "study-ft10", weights)
    keep(results, kept)
    before = _tree(kept)
    run(1.7, "study-curve-100", weights)  # the same pretraining, run by another arm and checkout, timed again
    keep(results, kept)
    assert _tree(kept) == before
    run(1.7, "study-ft10", {"stem.weight": torch.arange(6.0) + 1e-6})
    with pytest.raises(NaslidError, match="1 kept result.*supernet.pt.*--replace"):
        keep(results, kept)
    run(1.5, "study-ft10", weights)
    _write(split, {"edge": "3<-1", "scores": [{"partition_score": 0.7, "seconds": 1.5}]})
    with pytest.raises(NaslidError, match="1 kept result.*split/r.json"):
        keep(results, kept)


def test_git_commits_the_kept_runs_logs_and_ignores_the_workflows():
    """The cost table reads the kept jobs' logs, which the repository's `logs/` rule would drop."""
    import subprocess

    def ignored(path):
        return subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO).returncode == 0

    assert not ignored("results/reference/study/runs/study-ft2/lid/s0/logs/finetune/r00.log")
    assert not ignored("results/reference/study/runs/pretrain/3c9276df67aa/logs/s0/pretrain.log")
    assert ignored("results/study-ft2/lid/s0/logs/finetune/r00.log")
