"""The Snakemake workflow, run for real on a tiny config: it completes, and reruns only what changed."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, SNAKEMAKE, TINY, copy_run, run_snakemake, same_json, workflow_copy

# Under pytest-xdist the tests share one run directory (`run_dir`): one worker runs them all.
pytestmark = pytest.mark.xdist_group("workflow")


def snakemake(root: Path, *args) -> subprocess.CompletedProcess:
    return run_snakemake(root, "--cores", "2", "--configfile", "tiny.yaml", *args)


def planned(root: Path, *configfiles) -> dict[str, int]:
    """Rule -> job count of a dry run."""
    out = snakemake(root, "-n", "--configfile", "tiny.yaml", *configfiles)  # the last --configfile option wins
    assert out.returncode == 0, out.stderr + out.stdout
    if "Nothing to be done" in out.stdout + out.stderr:
        return {}
    stats = (out.stdout + out.stderr).split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


@pytest.fixture(scope="module")
def run_dir(tiny_run, tmp_path_factory):
    """A copy of the session's tiny run, which these tests change (config overlays, edits, deletions)."""
    return copy_run(tiny_run, tmp_path_factory.mktemp("workflow") / "run")


def test_complete_run_writes_tables_and_figures(run_dir):
    results = run_dir / "results" / "tiny"
    for t in (1, 2, 3, 5):
        for ext in ("md", "csv", "tex"):
            assert (results / "tables" / f"table{t}.{ext}").stat().st_size > 0
    assert (results / "figures" / "fig_table2.png").read_bytes()[:4] == b"\x89PNG"  # 1, 4, 5: redrawn below
    numbers = pd.read_csv(results / "tables" / "table2.csv")
    assert list(numbers["criterion"]) == [
        "exhaustive",
        "lid",
        "none",
        "nonlinear-count",
        "random",
        "params = flops",
        "naswot",
        "ceiling",
    ]  # params and FLOPs rank NB201 identically: one row
    assert (
        numbers["tau_all"].iloc[:-1].notna().all() and numbers["dtau_none_all"].notna().sum() == 6
    )  # all but none, ceiling
    assert numbers["dtau_random_all"].notna().sum() == 6  # all but random, ceiling
    assert "n/a: the benchmark" in (results / "tables" / "table2.md").read_text()  # table.csv has one training per arch
    table2 = (results / "tables" / "table2.md").read_text()
    assert "lid" in table2 and "nonlinear-count" in table2
    assert "| 1 + 2 " in table2 and "| 1 + 7 " in table2  # budget: lid and none 2 fine-tunes, nonlinear-count 7
    assert sorted(p.name for p in (results / "nonlinear-count" / "s0" / "final").glob("*.pt")) == [
        f"r{i}.pt" for i in range(7)
    ]
    assert "NAS-LID peak MB" in (results / "tables" / "table1.md").read_text()
    assert (results / "times" / "s0" / "pretrain.tsv").is_file()
    assert (results / "lid" / "s0" / "logs" / "evolve.log").is_file()


def test_the_report_holds_every_table_and_figure(run_dir, tmp_path):
    """snakemake --report: one HTML file that embeds each table (CSV) and figure of the run."""
    report = tmp_path / "report.html"
    out = snakemake(run_dir, "--report", str(report))
    assert out.returncode == 0, out.stderr[-2000:]
    html = report.read_text()
    results = run_dir / "results" / "tiny"
    shown = [p.name for p in sorted((results / "tables").glob("*.csv")) + sorted((results / "figures").glob("*.png"))]
    assert len(shown) == 4 + 4  # tables 1, 2, 3, 5; figures 1, 4, 5 and Table 2's
    missing = [name for name in shown if name not in html]
    assert not missing, missing


def test_tables_hold_the_numbers_of_the_json_files_they_summarise(run_dir):
    """Table 2's tau over all architectures is scipy's Kendall tau of rank.json's estimates against
    its ground truth; Table 3's row is query.json's first searched architecture; checked for every
    criterion of the run."""
    import scipy.stats

    results = run_dir / "results" / "tiny"
    table2 = pd.read_csv(results / "tables" / "table2.csv").set_index("criterion")
    table3 = pd.read_csv(results / "tables" / "table3.csv").set_index("criterion")
    for criterion in ("exhaustive", "lid", "none", "nonlinear-count", "random"):
        ranked = json.loads((results / criterion / "s0" / "rank.json").read_text())["estimates"]
        tau = scipy.stats.kendalltau([e["ground_truth"] for e in ranked], [e["estimate"] for e in ranked])[0]
        assert table2.loc[criterion, "tau_all"] == pytest.approx(tau, abs=1e-12), criterion
        best = next(
            r
            for r in json.loads((results / criterion / "s0" / "query.json").read_text())["rows"]
            if r["role"] == "searched #1"
        )
        assert table3.loc[criterion, "best arch (seed of first run)"] == best["arch"], criterion
        assert (
            best["arch"].replace("|", "\\|") in (results / "tables" / "table3.md").read_text()
        )  # a "|" escaped in markdown


@pytest.mark.slow(reason="a second seed of the tiny workflow (100 s)")
def test_two_seeds_give_table2_the_mean_and_std_of_the_seeds_taus(tiny_run, tmp_path):
    """A second seed of `none` (its supernet, search and ranking run; seed 0 is the session's run):
    Table 2's tau over all architectures is the mean of the two seeds' Kendall taus, by scipy from
    the two rank.json files, and its ± the std over the two (numpy's, ddof 0: the spread of these
    seeds, not an estimate of a population's)."""
    import scipy.stats

    root = copy_run(tiny_run, tmp_path / "run")
    out = snakemake(root, "--configfile", "tiny.yaml", "two-seeds.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    results = root / "results" / "tiny"
    taus = []
    for seed in (0, 1):
        ranked = json.loads((results / "none" / f"s{seed}" / "rank.json").read_text())["estimates"]
        taus.append(scipy.stats.kendalltau([e["ground_truth"] for e in ranked], [e["estimate"] for e in ranked])[0])
    assert taus[0] != taus[1]  # two real seeds, or the std below says nothing
    row = pd.read_csv(results / "tables" / "table2.csv").set_index("criterion").loc["none"]
    assert row["seeds"] == 2
    assert row["tau_all"] == pytest.approx((taus[0] + taus[1]) / 2, abs=1e-12)
    assert row["tau_all_std"] == pytest.approx(abs(taus[0] - taus[1]) / 2, abs=1e-12)
    assert f"{row['tau_all']:.3f} ± {row['tau_all_std']:.3f}" in (results / "tables" / "table2.md").read_text()


def test_no_profile_of_the_run_ties_every_op_and_no_edge_scores_near_one_over_eps(run_dir):
    """The dead-edge artifact, checked on every profile and split a run wrote: a batch in which all
    ops of an edge gave identical profiles, or a partition score of order 1/eps (1e8), means the
    profiled edge was cut off the cell's paths."""
    import pandas as pd

    results = run_dir / "results" / "tiny" / "lid" / "s0"
    profiles = sorted((results / "profile").glob("*/edge*.csv"))
    assert profiles
    for path in profiles:
        table = pd.read_csv(path)
        if len(table):
            per_batch = table.groupby(["edge", "batch", "layer"])["lid"].nunique().groupby(["edge", "batch"]).max()
            assert (per_batch > 1).all(), f"{path}: every op tied in {list(per_batch[per_batch == 1].index)}"
    for path in sorted((results / "split").glob("*.json")):
        for edge, candidate in json.loads(path.read_text())["candidates"].items():
            assert candidate["partition_score"] < 1e6 and candidate["excluded_batches"] == [], (path, edge)


@pytest.mark.slow(reason="reruns evolve on a copy of the tiny run")
def test_the_search_takes_ranks_estimates_and_ends_as_a_search_that_evaluates_everything(run_dir, tmp_path):
    """evolve scores with rank's estimates where rank has them: a search within the benchmark then
    evaluates nothing itself and ends exactly as one that evaluates every architecture; estimates of
    other sub-supernets (another criterion's rank.json) are refused, and everything is evaluated."""
    results = run_dir / "results" / "tiny"
    assert (
        json.loads((results / "lid" / "s0" / "evolve.json").read_text())["estimates_lent_by"]
        == "results/tiny/lid/s0/rank.json"
    )
    supernets = sorted(str(p) for p in (results / "lid" / "s0" / "final").glob("*.pt"))

    def search(name, *estimates):
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "naslid"),
                "evolve",
                "--config",
                str(results / "config.yaml"),
                "--set",
                "seed=0",
                "--set",
                "split.criterion=lid",
                "--set",
                "evolve.within_benchmark=true",
                "--supernets",
                *supernets,
                *estimates,
                "--out",
                str(tmp_path / name),
            ],
            cwd=run_dir,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        computed = int(re.search(r"estimated (\d+) architectures here", out.stderr).group(1))
        return json.loads((tmp_path / name).read_text()), computed, out.stderr

    alone, alone_computed, _ = search("alone.json")
    lent, lent_computed, _ = search("lent.json", "--estimates", str(results / "lid" / "s0" / "rank.json"))
    foreign, foreign_computed, said = search(
        "foreign.json", "--estimates", str(results / "exhaustive" / "s0" / "rank.json")
    )
    assert len(alone["evaluated"]) == 12  # every row of table.csv
    assert lent["evaluated"] == alone["evaluated"] and lent["best"] == alone["best"]
    assert (alone_computed, lent_computed, foreign_computed) == (12, 0, 12)
    assert "not reusing" in said and foreign["evaluated"] == alone["evaluated"]


def test_profiling_every_edge_of_a_sub_supernet_in_one_job_plans_one_job_per_sub_supernet(run_dir):
    jobs = planned(run_dir, "profile-per-sub-supernet.yaml")
    assert jobs["profile_sub_supernet"] == 1 and "profile" not in jobs  # lid's root (1 round)
    assert jobs["split"] == 1 and "pretrain" not in jobs


def test_figures_are_drawn_from_the_result_files(run_dir, tmp_path):
    """Each figure is a PNG equal, pixel for pixel, to the one drawn again now from the run's result
    files, and unlike the one drawn from no results (an empty or placeholder plot)."""
    import numpy as np
    from PIL import Image

    from naslid.stages.tables import read_experiments, figure1, figure4, figure5

    results = run_dir / "results" / "tiny"
    draw = {1: figure1, 4: figure4, 5: lambda where, out: figure5(read_experiments(where, "evolve"), out)}

    def pixels(path):
        return np.asarray(Image.open(path).convert("RGB"))

    for f, figure in draw.items():
        shown = pixels(results / "figures" / f"fig{f}.png")
        figure(results, tmp_path / f"again{f}.png")
        figure(tmp_path / "no-results", tmp_path / f"empty{f}.png")
        empty = pixels(tmp_path / f"empty{f}.png")
        assert shown.shape[0] > 200 and shown.shape[1] > 300, (f, shown.shape)
        assert np.array_equal(shown, pixels(tmp_path / f"again{f}.png")), f
        assert shown.shape != empty.shape or not np.array_equal(shown, empty), f


@pytest.mark.slow(reason="a start-up time guard, not behaviour a change breaks")
def test_planning_the_workflow_imports_neither_scipy_nor_matplotlib(tmp_path):
    """Snakemake parses the workflow at every start, and on a cluster once more inside every job: it
    imports every stage module for its declaration, and the tables stage leaves scipy.stats and
    matplotlib (1.8 s of the 7.5 s a plan took) to when it runs. (torch stays: the stages import it.)"""
    root = workflow_copy(tmp_path, TINY)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "snakemake", "--list-rules", "--configfile", "tiny.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert {"naslid.stages.tables", "naslid.method.stats"} <= imported  # the planning ran
    assert not imported & {"scipy.stats", "matplotlib.pyplot"}, sorted(imported & {"scipy.stats", "matplotlib.pyplot"})


def test_after_a_complete_run_nothing_is_planned(run_dir):
    assert planned(run_dir) == {}


def test_no_job_input_is_an_absolute_path_inside_the_working_directory(tmp_path):
    """Snakemake records a job's inputs by name: an absolute path (the shipped ground-truth tables
    did enter so) would make a finished run copied into another clone plan its jobs again. The
    embedded default reads both shipped tables (the proxy table and the NB201 reference); the copy's
    own package is imported, as a clone's is."""
    root = workflow_copy(tmp_path, TINY)
    out = run_snakemake(root, "--configfile", "config/config.yaml", "--filegraph", env={"PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-3000:]
    inputs = set(re.findall(r'<font face="monospace">([^<]+)</font>', out.stdout))
    assert {"naslid/data/proxy_benchmark.csv", "naslid/data/nb201_accuracy.csv.gz"} <= inputs, sorted(inputs)[:20]
    assert not [p for p in inputs if p.startswith("/")], sorted(p for p in inputs if p.startswith("/"))[:5]


def test_editing_a_module_a_stage_imports_indirectly_reruns_it(run_dir):
    """Code inputs are each stage's import closure: pretraining reruns when the NB201 encoding it
    builds its cell from changes (on 800bbd4 pretrain.smk listed only train.py and supernet.py)."""
    module = run_dir / "naslid" / "spaces" / "nb201" / "encoding.py"
    original = module.read_text()
    module.write_text(original + "# an edit\n")
    try:
        jobs = planned(run_dir)
    finally:
        module.write_text(original)
    assert jobs["pretrain"] == 1 and jobs["query"] == 5 and jobs["tables"] == 1


# The rerun table: what a dry run on the finished tiny run plans after one change, written by hand
# from what each setting means (not from the stages' declarations). Rules of the tiny run: pretrain,
# profile (lid), split (lid, exhaustive, nonlinear-count), finetune, finetune_none, evolve, query,
# rank, baselines, cost, tables. "all" is left out.
EVERYTHING = {
    "pretrain",
    "profile",
    "split",
    "finetune",
    "finetune_none",
    "evolve",
    "query",
    "rank",
    "baselines",
    "cost",
    "tables",
}
SEARCH = {"evolve", "query", "tables"}  # a search and what reads it
SCORED = SEARCH | {"rank"}  # the supernet estimates: the search and the ranking (whose estimates it borrows)
SUB_SUPERNETS = SCORED | {"finetune", "finetune_none"}
RERUN_TABLE = {
    # one key of every config section
    "data: {limit: 200}": EVERYTHING,
    "space: {C: 5}": EVERYTHING,
    "supernet: {sampling: switch}": EVERYTHING - {"baselines"},  # baselines train no supernet
    "train: {lr: 0.02}": EVERYTHING - {"baselines"},
    "finetune: {lr: 0.02}": SUB_SUPERNETS,
    "lid: {k: 6}": {"profile", "split", "finetune", "cost"} | SCORED,  # lid's experiment, and Table 1
    "gradient: {batches: 2}": {"cost", "tables"},  # no gradient experiment here: Table 1 only
    "split: {balanced: false}": {"split", "finetune"} | SCORED,  # not none: it has no split
    "evaluate: {batches: 2}": SCORED,
    "evolve: {generations: 3}": SEARCH,
    # evolve reads the benchmark (within_benchmark's rows): on 800bbd4 it did not rerun
    "benchmark: {path: table-copy.csv}": SCORED | {"baselines"},
    "rank: {top_k: [5, 8]}": SCORED | {"baselines"},  # evolve borrows rank's estimates
    "workflow: {resources: {light: {mem_mb: 2000}}}": set(),  # a job's resources are no setting
    "final: {epochs: 3}": set(),  # train-final runs only without a benchmark
    "build_benchmark: {epochs: 2}": set(),  # not a workflow stage
    "seed: 5": set(),  # the workflow sets each job's seed from workflow.seeds
    "threads: 2": set(),  # and its threads from its resources
}
# Editing one module of each stage reruns that stage and what reads its outputs.
MODULE_TABLE = {
    "pretrain": EVERYTHING - {"baselines"},
    "finetune": SUB_SUPERNETS,
    "profile": {"profile", "split", "finetune"} | SCORED,
    "split": {"split", "finetune"} | SCORED,
    "evolve": SEARCH,
    "query": {"query", "tables"},
    "rank": SCORED,
    "baselines": {"baselines", "tables"},
    "cost": {"cost", "tables"},
    "tables": {"tables"},
}


@pytest.mark.slow(reason="the rerun table: 30 dry runs of the workflow (250 s)")
def test_each_setting_file_and_stage_module_reruns_exactly_the_stages_that_read_it(run_dir):
    """The rerun table. A row fails if a stage reruns that did not read what changed (wasted hours on
    a cluster) or one that did read it stays (a stale result)."""
    shutil.copy(run_dir / "table.csv", run_dir / "table-copy.csv")
    got = {}
    for change, expected in RERUN_TABLE.items():
        (run_dir / "change.yaml").write_text(change + "\n")
        got[change] = (set(planned(run_dir, "change.yaml")) - {"all"}, expected)
    table = run_dir / "table.csv"
    original = table.read_text()
    edited = pd.read_csv(table)
    edited.loc[0, "proxy_test"] += 1  # one measurement corrected, in place
    edited.to_csv(table, index=False)
    try:  # on 800bbd4 an edited table reran nothing
        got["the benchmark file, edited"] = (set(planned(run_dir)) - {"all"}, SCORED | {"baselines"})
    finally:
        table.write_text(original)
    for stage, expected in MODULE_TABLE.items():
        module = run_dir / "naslid" / "stages" / f"{stage}.py"
        code = module.read_text()
        module.write_text(code + "# an edit\n")
        try:
            got[f"naslid/stages/{stage}.py, edited"] = (set(planned(run_dir)) - {"all"}, expected)
        finally:
            module.write_text(code)
    wrong = {row: {"planned": sorted(p), "expected": sorted(e)} for row, (p, e) in got.items() if p != e}
    assert not wrong, wrong
    assert planned(run_dir) == {}


@pytest.mark.slow(reason="runs a second tiny workflow on a dataset folder (70 s)")
def test_editing_a_file_of_the_dataset_reruns_the_stages_that_read_the_data(tmp_path):
    """A dataset directory's files are inputs (on 800bbd4 an edited dataset reran nothing): a run of
    the one-shot baseline on a tiny CIFAR-10 directory, then one pickle of it rewritten."""
    from test_data import write_cifar10
    from naslid.spaces.nb201.encoding import Arch

    write_cifar10(tmp_path / "cifar")
    config = yaml.safe_load(TINY)
    config["data"] = {"dataset": "cifar10", "root": str(tmp_path / "cifar"), "augment": False}
    config["workflow"]["criteria"] = ["none"]
    config["train"]["batch_size"] = config["lid"]["batch_size"] = 16
    config["evaluate"]["batch_size"] = 16
    root = workflow_copy(tmp_path / "run", yaml.safe_dump(config))
    rows = [
        {"index": i, "arch": Arch.from_index(i).to_str(), "cifar10_valid": 80 + i % 7, "cifar10_test": 80 + i % 11}
        for i in (0, 1, 3, 87, 105, 777, 1651, 4242, 6111, 9930, 12000, 15624)
    ]
    pd.DataFrame(rows).to_csv(root / "table.csv", index=False)
    out = snakemake(root)
    assert out.returncode == 0, out.stderr[-3000:]
    batch = tmp_path / "cifar" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-1] + b"\x00")  # one pixel changed (the pickle's last byte is its STOP)
    assert set(planned(root)) - {"all"} == {"pretrain", "finetune_none", "cost", "baselines"} | SCORED


def test_deleting_one_sub_supernet_reruns_only_that_job_and_its_consumers(run_dir):
    (run_dir / "results" / "tiny" / "lid" / "s0" / "final" / "r1.pt").unlink()
    jobs = planned(run_dir)
    assert jobs["finetune"] == 1 and jobs["evolve"] == 1 and jobs["rank"] == 1
    assert not {"pretrain", "profile", "split", "finetune_none"} & set(jobs)


@pytest.mark.parametrize(
    "content, message",
    [
        ("bogus_key: 1\n", "bogus_key"),
        ("train: {epochs: many}\n", "epochs"),
        ("data: {dataset: cifar10, root: /nonexistent/cifar}\n", "/nonexistent/cifar"),
    ],
)
def test_bad_config_fails_before_any_job_with_a_message_naming_it(run_dir, content, message):
    """A real run, not a dry one: it stops with the message, no job is announced and no result file
    is touched (a config that passed would rerun most of the workflow)."""
    (run_dir / "bad.yaml").write_text(content)
    before = {p: p.stat().st_mtime_ns for p in (run_dir / "results").rglob("*") if p.is_file()}
    out = snakemake(run_dir, "--configfile", "tiny.yaml", "bad.yaml")
    assert out.returncode != 0
    assert message in out.stderr + out.stdout
    assert not re.search(r"^\s*(local)?rule \w+:", out.stderr + out.stdout, re.M), out.stderr[-2000:]
    assert {p: p.stat().st_mtime_ns for p in (run_dir / "results").rglob("*") if p.is_file()} == before


def test_committed_schema_is_the_one_generated_from_the_config_rules():
    import yaml

    from naslid.config import json_schema

    assert yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text()) == json_schema()


def test_default_config_passes_the_schema():
    import jsonschema
    import yaml

    from naslid.config import json_schema

    jsonschema.validate(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), json_schema())


def test_snakemake_lint_and_snakefmt_are_clean():
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    lint = subprocess.run([SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, env=env)
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr, (
        lint.stdout + lint.stderr
    )
    fmt = subprocess.run(
        [str(Path(sys.executable).parent / "snakefmt"), "--check", "workflow"], cwd=REPO, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stderr


def test_ruff_lint_and_format_are_clean():
    """The Python code passes ruff's lint and format checks (pyproject.toml: lines up to 120), run as
    `make lint` runs them: every Python file of the repository that git does not ignore."""
    ruff = str(Path(sys.executable).parent / "ruff")
    for check in (["check", "--output-format", "concise"], ["format", "--check"]):
        out = subprocess.run([ruff, *check], cwd=REPO, capture_output=True, text=True)
        assert out.returncode == 0, f"ruff {check[0]}: " + out.stdout[-3000:] + out.stderr[-1000:]


def working_in(root: Path) -> list[int]:
    """Live processes whose working directory is `root` (what scripts/run-workflow.sh looks for)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc / "cwd") == str(root.resolve()):
                pids.append(int(proc.name))
        except OSError:  # gone, a zombie, or not ours to read
            pass
    return pids


@pytest.mark.slow(reason="kill and resume of the whole workflow (100 s each)")
@pytest.mark.parametrize("kill", ["SIGTERM to Snakemake", "SIGKILL to the whole run"])
def test_a_workflow_killed_mid_run_finishes_on_rerun_with_the_tables_of_a_clean_run(tiny_run, tmp_path, kill):
    """Fault injection: kill the workflow while stages run, then the README's command again
    (`make run` calls scripts/run-workflow.sh). SIGTERM to Snakemake (a scheduler timeout) lets it
    stop its jobs and remove its lock; SIGKILL to Snakemake and its jobs at once (OOM killer, a lost
    login session) leaves the lock, which the script finds stale and clears. The workflow profile's
    rerun-incomplete redoes the jobs that were cut off; the stages resume from their checkpoints.
    The run is a copy of the session's tiny run without lid's results (its profiles, split,
    fine-tunes and search run again) and tables; it must end with the tables of the uncut run."""
    import signal
    import time

    root = copy_run(tiny_run, tmp_path / "run")
    for made in ("lid", "tables", "figures"):
        shutil.rmtree(root / "results" / "tiny" / made)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "--configfile", "tiny.yaml"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    profiles = root / "results" / "tiny" / "lid" / "s0" / "profile" / "r"
    deadline = time.time() + 300
    while not list(profiles.glob("edge*.csv")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the workflow ended before the kill"
    if kill.startswith("SIGTERM"):
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate()
    while working_in(root) and time.time() < deadline:  # SIGKILL is delivered, not yet done, when killpg returns
        time.sleep(0.05)
    assert proc.returncode != 0 and not (root / "results" / "tiny" / "tables" / "table2.md").exists()
    assert not (root / "results" / "tiny" / "lid" / "s0" / "evolve.json").exists()  # cut off before the search
    assert bool(list((root / ".snakemake" / "locks").glob("*"))) == kill.startswith("SIGKILL")
    out = subprocess.run(
        ["bash", REPO / "scripts" / "run-workflow.sh", "--cores", "2", "--configfile", "tiny.yaml"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert ("left its lock" in out.stderr) == kill.startswith("SIGKILL")
    # Snakemake announces a job as "localrule <name>:" (with --cores) or "rule <name>:": lid's profiles
    # ran again, what the cut left untouched did not.
    announced = set(re.findall(r"^(?:local)?rule (\w+):", out.stdout + out.stderr, re.M))
    assert "profile" in announced and not {"pretrain", "finetune_none"} & announced, announced
    for table in ("table2.md", "table3.md", "table5.md"):
        assert (root / "results/tiny/tables" / table).read_text() == (
            tiny_run / "results/tiny/tables" / table
        ).read_text()
    for result in ("lid/s0/split/r.json", "lid/s0/evolve.json", "lid/s0/rank.json"):
        same_json(root / "results/tiny" / result, tiny_run / "results/tiny" / result, "seconds")


@pytest.mark.slow(reason="kill and resume: a live run beside the unlock")
def test_the_run_script_refuses_to_unlock_while_a_run_still_works_there(tmp_path):
    """A lock with a live process of the run in the directory is not stale: no unlock, one clear error."""
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("")
    job = subprocess.Popen(["bash", "-c", "exec -a naslid sleep 30"], cwd=tmp_path)
    try:
        out = subprocess.run(
            ["bash", REPO / "scripts" / "run-workflow.sh", "--cores", "1"], cwd=tmp_path, capture_output=True, text=True
        )
    finally:
        job.kill()
    assert out.returncode == 2 and f"pids {job.pid}" in out.stderr, out.stderr
    assert (tmp_path / ".snakemake" / "locks" / "0.input.lock").exists()


@pytest.mark.slow(reason="three dry runs of the workflow (20 s on the fast tier's longest worker)")
def test_shared_pretraining_is_one_folder_per_set_of_pretraining_keys(run_dir):
    """workflow.shared_pretrain: two experiments (names) that differ only after pretraining plan the
    same pretrained supernet, results/pretrain/<digest>/; a pretraining key changed gives another."""

    def pretrained(*overlay: str) -> set[str]:
        for i, text in enumerate(overlay):
            (run_dir / f"shared-{i}.yaml").write_text(text)
        out = snakemake(
            run_dir, "-n", "-p", "--configfile", "tiny.yaml", *(f"shared-{i}.yaml" for i in range(len(overlay)))
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return set(re.findall(r"results/pretrain/[0-9a-f]{12}/s0/pretrain/supernet\.pt", out.stdout + out.stderr))

    shared = "workflow: {shared_pretrain: true}\n"
    first = pretrained(shared, "name: one\n")
    assert len(first) == 1
    assert pretrained(shared, "name: two\nfinetune: {epochs: 3}\nsplit: {rounds: 2}\n") == first
    assert pretrained(shared, "name: three\ntrain: {lr: 0.02}\n") != first
