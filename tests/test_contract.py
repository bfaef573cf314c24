"""The stage contract is honest: every stage reads only the config keys it declares.

Each stage runs for real, in this process, on the session's tiny run (its checkpoints, profiles and
results as inputs), with a config that records the dotted key of every value read. A key read but
not declared (`naslid.stages.Stage.reads`, the criterion's section, or a key the workflow sets per
job) would let a changed setting leave the stage's output stale: the workflow reruns a stage only
for the keys it declares.
"""

from argparse import Namespace
from pathlib import Path

import pytest
import yaml

from conftest import TINY
from naslid import stages
from naslid.config import load_config

# The tiny run is shared with the workflow tests; these only read it.
pytestmark = pytest.mark.xdist_group("workflow")


class Recording(dict):
    """A config that records the dotted key of every value read (sections are walked into, not counted)."""

    def __init__(self, data: dict, reads: set, prefix: str = ""):
        super().__init__(
            {k: Recording(v, reads, f"{prefix}{k}.") if isinstance(v, dict) else v for k, v in data.items()}
        )
        self.reads, self.prefix = reads, prefix

    def __getitem__(self, key):
        value = super().__getitem__(key)
        if not isinstance(value, Recording):
            self.reads.add(self.prefix + key)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __reduce__(self):  # pickled (checkpoints, worker processes) as the plain config it stands for
        return dict, (dict(self.items()),)


def declared(stage: stages.Stage, criterion: str) -> set[str]:
    return set(stage.settings(load_config(None), criterion)) | set(stages.SET_PER_JOB)


def undeclared(reads: set[str], keys: set[str]) -> set[str]:
    """The keys read that no declared key (a section, or the key itself) covers."""
    return {r for r in reads if not any(r == k or r.startswith(k + ".") for k in keys)}


def run_recorded(name: str, config: dict, inputs: dict, outputs: dict) -> set[str]:
    reads: set[str] = set()
    stage = stages.get(name)
    given = {arg.name: arg.default for arg in stage.inputs + stage.outputs} | inputs | outputs
    stages.run(
        name,
        Recording(config, reads),
        Namespace(**{a.name: given[a.name] for a in stage.inputs}),
        Namespace(**{a.name: given[a.name] for a in stage.outputs}),
    )
    return reads


@pytest.fixture(scope="module")
def tiny(tiny_run):
    config = yaml.safe_load(TINY)
    config["benchmark"]["path"] = str(tiny_run / "table.csv")
    return tiny_run / "results" / "tiny", config


def cases(results: Path, out: Path):
    """(stage, criterion, config overrides, inputs, outputs): every stage, on the tiny run's files."""
    lid = results / "lid" / "s0"
    pretrained = results / "s0" / "pretrain" / "supernet.pt"
    finals = sorted((lid / "final").glob("r*.pt"))
    return [
        ("pretrain", "lid", {}, {}, {"out": out / "p.pt", "metrics": out / "p.json"}),
        (
            "finetune",
            "lid",
            {},
            {"parent": pretrained, "split": lid / "split" / "r.json", "child": 0, "epochs": 1},
            {"out": out / "f.pt", "metrics": out / "f.json"},
        ),
        ("profile", "lid", {}, {"supernet": pretrained, "edge": [0]}, {"out": out / "lid.csv"}),
        ("profile", "gradient", {}, {"supernet": pretrained, "edge": [0]}, {"out": out / "gradient.csv"}),
        (
            "split",
            "lid",
            {},
            {"supernet": pretrained, "profiles": sorted((lid / "profile" / "r").glob("edge*.csv"))},
            {"out": out / "split-lid.json"},
        ),
        ("split", "exhaustive", {}, {"supernet": pretrained}, {"out": out / "split-exhaustive.json"}),
        ("split", "nonlinear-count", {}, {"supernet": pretrained}, {"out": out / "split-nonlinear.json"}),
        (
            "evolve",
            "lid",
            {"evolve": {"within_benchmark": True}},
            {"supernets": finals, "estimates": lid / "rank.json"},
            {"out": out / "evolve.json"},
        ),
        ("query", "lid", {}, {"evolve": lid / "evolve.json"}, {"out": out / "query.json"}),
        ("rank", "lid", {}, {"supernets": finals}, {"out": out / "rank.json"}),
        ("baselines", "lid", {}, {}, {"out": out / "baselines.json"}),
        ("cost", "lid", {}, {"supernet": pretrained, "sizes": [16]}, {"out": out / "cost.json"}),
        ("tables", "lid", {}, {"results": results}, {}),
        (
            "train-final",
            "lid",
            {"final": {"epochs": 1, "batch_size": 64}},
            {"arch": "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"},
            {"out": out / "final.pt", "metrics": out / "final.json"},
        ),
        (
            "build-benchmark",
            "lid",
            {"build_benchmark": {"epochs": 1, "seeds": 1, "workers": 1, "C": 4}},
            {"archs": [6111]},
            {"out": out / "bench.csv"},
        ),
    ]


@pytest.mark.slow(reason="runs every stage in process on the tiny run's files")
def test_every_stage_reads_only_the_config_keys_it_declares(tiny, tmp_path):
    results, tiny_config = tiny
    # tables writes into its results tree: a copy of the run's results
    import shutil

    copy = shutil.copytree(results, tmp_path / "results", ignore=shutil.ignore_patterns("*.pt", "logs", "times"))
    for name in ("s0/pretrain/supernet.pt",):
        shutil.copy2(results / name, copy / name)
    found, covered = {}, set()
    for name, criterion, overrides, inputs, outputs in cases(results, tmp_path):
        if name == "tables":
            inputs = {"results": copy}
        config = load_config(
            None,
            {
                **tiny_config,
                "split": {**tiny_config["split"], "criterion": criterion},
                **{k: {**tiny_config.get(k, {}), **v} for k, v in overrides.items()},
            },
        )
        reads = run_recorded(name, config, inputs, outputs)
        assert reads, f"{name} read no config key: the recording missed its reads"
        stray = undeclared(reads, declared(stages.get(name), criterion))
        if stray:
            found[f"{name} ({criterion})"] = sorted(stray)
        covered.add(name)
    assert covered == set(stages.NAMES)
    assert not found, f"stages read config keys they do not declare (add them to their STAGE.reads): {found}"


def test_the_recording_sees_reads_inside_sections_passed_on_and_not_a_config_saved_whole(tmp_path):
    """What the key-read test relies on: a section handed to a helper is still recorded key by key;
    a config embedded whole in a result or a checkpoint (json, pickle) counts as no read."""
    import json
    import pickle

    reads: set[str] = set()
    config = Recording(load_config(None), reads)
    section = config["lid"]
    assert section["k"] == 20 and config.get("seed") == 0
    json.dumps(config)
    assert pickle.loads(pickle.dumps(config)) == load_config(None)
    assert reads == {"lid.k", "seed"}
    assert undeclared({"lid.k", "space.C", "seed"}, {"lid", "seed"}) == {"space.C"}
