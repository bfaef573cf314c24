"""docs/extending.md, carried out: its criterion, written from the page's code blocks into a copy of
the package, registered, run through the tiny workflow, and ranked in Table 2."""

import os
import re
import subprocess

import pandas as pd
import pytest

from conftest import PYTHON, REPO, TINY, run_snakemake, workflow_copy

GUIDE = (REPO / "docs" / "extending.md").read_text()


def _blocks(language: str) -> list[str]:
    """The page's fenced code blocks of one language, dedented as a reader would copy them."""
    blocks = re.findall(rf"^( *)```{language}\n(.*?)^\1```", GUIDE, re.M | re.S)
    return ["\n".join(line[len(indent) :] for line in body.splitlines()) + "\n" for indent, body in blocks]


@pytest.mark.slow(reason="runs the tiny workflow with a criterion added from the guide (2 min)")
def test_the_guides_criterion_runs_through_the_workflow_into_table_2(tmp_path):
    root = workflow_copy(tmp_path, TINY)
    names, registration = _blocks("python")
    config = root / "naslid" / "config.py"
    config.write_text(re.sub(r"^CRITERION_NAMES = .*$", names.strip(), config.read_text(), count=1, flags=re.M))
    criteria = root / "naslid" / "method" / "criteria.py"
    text = criteria.read_text()
    criteria.write_text(text.replace('NO_SPLIT = "none"\n', registration + "\n\n" + 'NO_SPLIT = "none"\n', 1))
    env = dict(os.environ, PYTHONPATH=str(root))  # the copy's package, not the installed one
    schema = subprocess.run(
        [PYTHON, "-m", "naslid.config"], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    (root / "workflow" / "schemas" / "config.schema.yaml").write_text(schema.stdout)
    (root / "first-half.yaml").write_text("workflow: {criteria: [first-half, none]}\n")
    out = run_snakemake(
        root, "--cores", "2", "--configfile", "tiny.yaml", "first-half.yaml", env={"PYTHONPATH": str(root)}
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = root / "results" / "tiny"
    split = (results / "first-half" / "s0" / "split" / "r.json").read_text()
    assert '"edge_rule": "first edge, ops in order"' in split
    table2 = pd.read_csv(results / "tables" / "table2.csv").set_index("criterion")
    assert pd.notna(table2.loc["first-half", "tau_all"]) and pd.notna(table2.loc["first-half", "dtau_none_all"])
