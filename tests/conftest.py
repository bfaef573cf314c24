import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_NB201 = REPO.parent / "shared" / "data" / "nb201" / "nb201_accuracy.csv"


@pytest.fixture(scope="session")
def nb201_table():
    """The shared NB201 ground-truth table (rows in official index order)."""
    import pandas as pd
    if not SHARED_NB201.is_file():
        pytest.skip(f"shared NB201 table not found at {SHARED_NB201}")
    return pd.read_csv(SHARED_NB201)


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
