import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The package's own copy of the NB201 ground-truth table (byte-identical, uncompressed, to the shared
# data/nb201/nb201_accuracy.csv): the tests that need the real table run on every checkout.
NB201_TABLE = REPO / "naslid" / "data" / "nb201_accuracy.csv.gz"


@pytest.fixture(scope="session")
def nb201_table():
    """The shipped NB201 ground-truth table (rows in official index order)."""
    import pandas as pd
    return pd.read_csv(NB201_TABLE)


def tiny_config(tmp_path, **sections):
    """A config small enough for a test: proxy data, C=4, N=1."""
    from naslid.config import load_config
    overrides = {"space": {"C": 4, "N": 1}, "threads": 1,
                 "data": {"limit": 256, "augment": False},
                 "train": {"epochs": 2, "batch_size": 32, "eval_batches": 1},
                 "lid": {"k": 5, "batches": 2, "batch_size": 32}}
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


def workflow_copy(root: Path, config_text: str) -> Path:
    """A working directory with the workflow, the configs, a copy of the package's code files, the
    config `tiny.yaml` and a sampled ground-truth table `table.csv` of 12 architectures."""
    import shutil

    import pandas as pd

    from naslid.space.nb201 import Arch
    for name in ("workflow", "config"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(REPO / "naslid", root / "naslid", ignore=shutil.ignore_patterns("*.parts", "__pycache__"))
    rows = [{"index": i, "arch": Arch.from_index(i).to_str(), "proxy_valid": 50 + (i * 7919) % 40, "proxy_test": 40 + (i * 104729) % 50}
            for i in (0, 1, 3, 87, 105, 777, 1651, 4242, 6111, 9930, 12000, 15624)]
    pd.DataFrame(rows).to_csv(root / "table.csv", index=False)
    (root / "tiny.yaml").write_text(config_text)
    return root
