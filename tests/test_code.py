"""The workflow's code inputs: a stage's import closure within naslid, computed from the source."""

import subprocess
import sys

import pytest

from naslid.code import closure
from naslid.stages import NAMES


def test_the_table_reader_is_code_of_the_stages_that_read_tables_only():
    """Editing the ground-truth reader reruns ranking, search, lookup and baselines, not the
    stages that train or profile (it once entered every stage's closure through the space)."""
    reader = "naslid/spaces/nb201/ground_truth.py"
    for stage in ("rank", "evolve", "query", "baselines"):
        assert reader in closure(f"naslid.stages.{stage}", "naslid.cli"), stage
    for stage in ("pretrain", "profile", "split", "finetune"):
        assert reader not in closure(f"naslid.stages.{stage}", "naslid.cli"), stage


def test_closure_follows_imports_at_any_depth_and_inside_functions(tmp_path):
    package = tmp_path / "naslid"
    (package / "space").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "stage.py": "from naslid import helper\n\ndef run():\n    from naslid.space.net import build\n",
        "helper.py": "import numpy\nfrom naslid.errors import Oops\n",
        "errors.py": "class Oops(Exception): ...\n",
        "space/__init__.py": "",
        "space/net.py": "def build(): ...\n",
        "unrelated.py": "from naslid import stage\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    assert closure("stage", root=package) == [
        f"naslid/{n}"
        for n in ("__init__.py", "errors.py", "helper.py", "space/__init__.py", "space/net.py", "stage.py")
    ]
    with pytest.raises(ValueError, match="no module naslid.missing"):
        closure("missing", root=package)


@pytest.mark.parametrize("stage", [name.replace("-", "_") for name in NAMES])
def test_closure_holds_every_naslid_module_that_importing_the_stage_loads(stage):
    """Checked against Python itself: the modules a fresh interpreter has loaded after importing the
    stage (top-level imports only; the closure also holds those imported inside functions)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, naslid.stages.{stage}; print(' '.join(m for m in sys.modules if m.startswith('naslid')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {m.removeprefix("naslid.").replace(".", "/") for m in out.stdout.split()}
    files = {
        f.removeprefix("naslid/").removesuffix(".py").removesuffix("/__init__") for f in closure(f"stages.{stage}")
    }
    files = {"naslid" if f == "__init__" else f for f in files}
    assert loaded <= files, loaded - files
