"""The Snakemake workflow, run for real on a tiny config: it completes, and reruns only what changed."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TINY = """
name: tiny
space: {C: 4, N: 1}
data: {limit: 256}
train: {epochs: 1, batch_size: 32, eval_batches: 1}
finetune: {epochs: 1}
lid: {k: 5, batches: 1, batch_size: 32}
gradient: {batches: 1, batch_size: 32}
split: {rounds: 1}
evaluate: {batches: 1, batch_size: 64}
evolve: {generations: 2, mutations: 3, crossovers: 3, randoms: 2, parents: 3}
rank: {top_k: [5, 10]}
benchmark: {path: %s}
workflow:
  seeds: [0]
  criteria: [lid, exhaustive, nonlinear-count, none]
  resources:
    train: {threads: 1, gpu: 0}
    profile: {threads: 1, gpu: 0}
    search: {threads: 1, gpu: 0}
"""


def snakemake(root: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run([SNAKEMAKE, "--cores", "2", "--configfile", "tiny.yaml", *args],
                          cwd=root, capture_output=True, text=True, env=env)


def planned(root: Path, *configfiles) -> dict[str, int]:
    """Rule -> job count of a dry run."""
    out = snakemake(root, "-n", "--configfile", "tiny.yaml", *configfiles)  # the last --configfile option wins
    assert out.returncode == 0, out.stderr + out.stdout
    if "Nothing to be done" in out.stdout + out.stderr:
        return {}
    stats = (out.stdout + out.stderr).split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A working directory with the workflow, the default config and a copy of the package's code files."""
    root = tmp_path_factory.mktemp("workflow")
    for name in ("workflow", "config"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(REPO / "naslid", root / "naslid", ignore=shutil.ignore_patterns("*.parts", "__pycache__"))
    table = root / "table.csv"
    _small_table(table)
    (root / "tiny.yaml").write_text(TINY % table)
    out = snakemake(root)
    assert out.returncode == 0, out.stderr[-3000:]
    return root


def _small_table(path: Path) -> None:
    """A sampled ground-truth table of 12 architectures (values from NB201's CIFAR-10 test accuracy)."""
    import pandas as pd

    from naslid.space.nb201 import Arch
    rows = [{"index": i, "arch": Arch.from_index(i).to_str(), "proxy_valid": 50 + (i * 7919) % 40, "proxy_test": 40 + (i * 104729) % 50}
            for i in (0, 1, 3, 87, 105, 777, 1651, 4242, 6111, 9930, 12000, 15624)]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_complete_run_writes_tables_and_figures(run_dir):
    results = run_dir / "results" / "tiny"
    for t in (1, 2, 3, 5):
        for ext in ("md", "csv", "tex"):
            assert (results / "tables" / f"table{t}.{ext}").stat().st_size > 0
    for f in (1, 4, 5):
        assert (results / "figures" / f"fig{f}.png").read_bytes()[:4] == b"\x89PNG"
    table2 = (results / "tables" / "table2.md").read_text()
    assert "lid" in table2 and "nonlinear-count" in table2
    assert "| 1 + 2 " in table2 and "| 1 + 7 " in table2  # budget: lid and none 2 fine-tunes, nonlinear-count 7
    assert sorted(p.name for p in (results / "nonlinear-count" / "s0" / "final").glob("*.pt")) == [f"r{i}.pt" for i in range(7)]
    assert "NAS-LID peak MB" in (results / "tables" / "table1.md").read_text()
    assert (results / "benchmarks" / "s0" / "pretrain.tsv").is_file()
    assert (results / "lid" / "s0" / "logs" / "evolve.log").is_file()


def test_after_a_complete_run_nothing_is_planned(run_dir):
    assert planned(run_dir) == {}


def test_changing_evolution_plans_only_the_search_and_its_consumers(run_dir):
    (run_dir / "evo.yaml").write_text("evolve: {generations: 3}\n")
    jobs = planned(run_dir, "evo.yaml")
    assert jobs["evolve"] == 4 and set(jobs) <= {"evolve", "query", "rank", "tables", "all"}


def test_changing_lid_k_replans_profiles_and_downstream_but_not_pretraining(run_dir):
    (run_dir / "k.yaml").write_text("lid: {k: 6}\n")
    jobs = planned(run_dir, "k.yaml")
    assert jobs["profile"] == 6 and jobs["split"] == 1 and jobs["finetune"] == 2 and jobs["evolve"] == 1
    assert "pretrain" not in jobs and "finetune_none" not in jobs


def test_editing_a_module_reruns_the_rules_that_use_it(run_dir):
    """Snakemake (>= 9.18) compares input checksums: an edit counts, a bare `touch` does not."""
    module = run_dir / "naslid" / "evolve.py"
    original = module.read_text()
    module.write_text(original + "# an edit\n")
    jobs = planned(run_dir)
    assert jobs["evolve"] == 4 and not {"pretrain", "profile", "split", "finetune"} & set(jobs)
    module.write_text(original)
    assert planned(run_dir) == {}


def test_deleting_one_sub_supernet_reruns_only_that_job_and_its_consumers(run_dir):
    (run_dir / "results" / "tiny" / "lid" / "s0" / "final" / "r1.pt").unlink()
    jobs = planned(run_dir)
    assert jobs["finetune"] == 1 and jobs["evolve"] == 1 and jobs["rank"] == 1
    assert not {"pretrain", "profile", "split", "finetune_none"} & set(jobs)


@pytest.mark.parametrize("content, message", [
    ("bogus_key: 1\n", "bogus_key"),
    ("train: {epochs: many}\n", "epochs"),
    ("data: {dataset: cifar10, root: /nonexistent/cifar}\n", "/nonexistent/cifar"),
])
def test_bad_config_fails_before_any_job_with_a_message_naming_it(run_dir, content, message):
    (run_dir / "bad.yaml").write_text(content)
    out = snakemake(run_dir, "-n", "--configfile", "tiny.yaml", "bad.yaml")
    assert out.returncode != 0
    assert message in out.stderr + out.stdout


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
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    fmt = subprocess.run([str(Path(sys.executable).parent / "snakefmt"), "--check", "workflow"], cwd=REPO,
                         capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stderr
