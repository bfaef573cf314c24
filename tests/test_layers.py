"""The package's layers (pyproject.toml's import-linter contracts), checked by `lint-imports`."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import REPO

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the `naslid` package under `root`, with the contracts of `root`/pyproject.toml."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=root, capture_output=True, text=True, env=env)


def test_the_contract_names_the_layers_from_entry_points_to_errors():
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")
    assert layers["layers"] == [
        "cli | study",
        "stages",
        "method",
        "spaces",
        "runtime",
        "data",
        "config | io | code",
        "errors",
    ]
    assert layers["exhaustive"]  # every module of naslid sits in a layer
    assert any(c["type"] == "acyclic_siblings" for c in contracts)


def test_the_package_keeps_its_layers(tmp_path):
    out = lint_imports(REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "broken" not in out.stdout.lower().split("contracts:")[-1].replace("0 broken", "")


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    """The runtime importing a stage (upwards) is caught: a copy of the package with that one import."""
    shutil.copytree(REPO / "naslid", tmp_path / "naslid", ignore=shutil.ignore_patterns("__pycache__", "*.gz", "*.csv"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    device = tmp_path / "naslid" / "runtime" / "device.py"
    device.write_text(device.read_text() + "\nfrom naslid.stages import NAMES  # noqa\n")
    out = lint_imports(tmp_path)
    assert out.returncode != 0 and "naslid.runtime.device -> naslid.stages" in out.stdout, out.stdout[-3000:]
