import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The package's own copy of the NB201 ground-truth table (byte-identical, uncompressed, to the shared
# data/nb201/nb201_accuracy.csv): the tests that need the real table run on every checkout.
NB201_TABLE = REPO / "naslid" / "data" / "nb201_accuracy.csv.gz"


def pytest_collection_modifyitems(config, items):
    """Two tiers: `make test` runs the tests not marked slow, `make test-all` every test. A slow test
    says why it is left out of the fast tier (`@pytest.mark.slow(reason=...)`)."""
    unexplained = [
        item.nodeid for item in items if any(not mark.kwargs.get("reason") for mark in item.iter_markers("slow"))
    ]
    if unexplained:
        raise pytest.UsageError(f"slow tests without a reason (mark them @pytest.mark.slow(reason=...)): {unexplained}")


@pytest.fixture(scope="session")
def nb201_table():
    """The shipped NB201 ground-truth table (rows in official index order)."""
    import pandas as pd

    return pd.read_csv(NB201_TABLE)


def tiny_config(tmp_path, **sections):
    """A config small enough for a test: proxy data, C=4, N=1."""
    from naslid.config import load_config

    overrides = {
        "space": {"C": 4, "N": 1},
        "threads": 1,
        "data": {"limit": 256, "augment": False},
        "train": {"epochs": 2, "batch_size": 32, "eval_batches": 1},
        "lid": {"k": 5, "batches": 2, "batch_size": 32},
    }
    for key, value in sections.items():
        overrides.setdefault(key, {}).update(value) if isinstance(value, dict) else overrides.__setitem__(key, value)
    return load_config(None, overrides)


PYTHON = sys.executable
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def run_snakemake(root: Path, *args, env: dict | None = None):
    """Snakemake in `root`, with this interpreter's environment first on PATH (for `naslid`)."""
    import os
    import subprocess

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", **(env or {}))
    return subprocess.run([SNAKEMAKE, *args], cwd=root, capture_output=True, text=True, env=env)


# The tiny experiment of every workflow test (local, killed, SLURM, container) and its overlays:
# small enough for a test, and every stage of the DAG runs (5 criteria, 1 split round, a 12-row
# ground truth, .test/tiny/table.csv).
TEST_CONFIGS = REPO / ".test" / "tiny"
TINY = (TEST_CONFIGS / "tiny.yaml").read_text()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The tiny experiment, run once per test session and then only read: the first test (of any
    pytest-xdist worker) to ask runs it, the others wait on a file lock. A test that changes a run
    works on `copy_run(tiny_run, ...)`."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' common folder
    root = shared / "tiny-run"
    with FileLock(str(shared / "tiny-run.lock")):
        if not (root / ".complete").is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            workflow_copy(root, TINY)
            out = run_snakemake(root, "--cores", "2", "--configfile", "tiny.yaml")
            assert out.returncode == 0, out.stderr[-3000:]
            (root / ".complete").write_text("")
    return root


def copy_run(run: Path, root: Path) -> Path:
    """A copy of a finished run (results, Snakemake's records, code, configs; modification times kept),
    which Snakemake finds up to date."""
    shutil.copytree(run, root, symlinks=True, ignore=shutil.ignore_patterns(".complete"))
    return root


def same_json(a, b, *ignored):
    """Equal JSON results, but for the `ignored` keys (timings, a config that differs on purpose) and
    the per-epoch `seconds` of a training's metrics."""
    import json

    records = [json.loads(Path(p).read_text()) for p in (a, b)]
    for record in records:
        for key in ignored:
            record.pop(key, None)
        if "metrics" in record:
            record["metrics"] = [{k: v for k, v in m.items() if k != "seconds"} for m in record["metrics"]]
    assert records[0] == records[1], (a, b)


def workflow_copy(root: Path, config_text: str) -> Path:
    """A working directory with the workflow, the configs, a copy of the package's code files, the
    config `tiny.yaml`, the sampled ground truth `table.csv` and the overlays of .test/tiny/."""
    for name in ("workflow", "config"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(REPO / "naslid", root / "naslid", ignore=shutil.ignore_patterns("*.parts", "__pycache__"))
    for overlay in TEST_CONFIGS.iterdir():
        shutil.copy(overlay, root / overlay.name)
    (root / "tiny.yaml").write_text(config_text)
    return root


def paired_p_values(numbers) -> dict:
    """{(row, test): p} of every paired difference of a Table 2 or study table (its `dtau_*_p`
    columns), read from the CSV's numbers as a reader would, to check the stars against."""
    import pandas as pd

    return {
        (i, c[:-2]): v
        for c in numbers
        if c.startswith("dtau_") and c.endswith("_p")
        for i, v in numbers[c].items()
        if pd.notna(v)
    }
