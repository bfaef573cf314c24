"""The stage contract: each pipeline stage declares what it reads and writes, next to its code.

A stage is a module of this package with a `STAGE` (a `Stage`) and one entry point
`run(config, inputs, outputs)`: `config` the resolved config, `inputs` the files (and values) it is
given, `outputs` the files it writes, both namespaces named after the stage's command-line flags
(`--supernets` -> `inputs.supernets`). Everything else follows from the declarations:

- the command line (`naslid.cli`) is a table over them: one subcommand per stage, one flag per
  declared argument;
- the workflow (`workflow/rules/common.smk`) makes each rule's `params` the values of the config keys
  the stage `reads` (a change in them reruns the stage), and its code inputs the stage module's
  import closure (`naslid.code`);
- a test runs every stage with a config that records the keys read and fails on an undeclared one
  (tests/test_contract.py).

`reads` holds config sections (`"lid"`) or dotted keys (`"split.rounds"`). The keys in
`SET_PER_JOB` are no stage's declaration: the workflow sets them for each job from its path
(experiment name, seed, criterion) or its resources (threads), so a rule never reruns for them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Pipeline order: the order of `naslid --help`.
NAMES = (
    "pretrain",
    "profile",
    "split",
    "finetune",
    "evolve",
    "query",
    "rank",
    "baselines",
    "cost",
    "tables",
    "train-final",
    "build-benchmark",
)
SET_PER_JOB = ("name", "seed", "threads", "split.criterion")


@dataclass(frozen=True)
class Arg:
    """One command-line argument of a stage: a file it reads or writes, or a value."""

    flag: str  # "--supernets"; the namespace attribute is the flag without dashes
    help: str
    many: bool = False  # one or more values (repeatable: --edge 1 --edge 4 is --edge 1 4)
    empty_ok: bool = False  # with many: the flag may come with no value (a split without profiles)
    required: bool = True
    type: Any = Path  # Path for files; int or str for values
    default: Any = None

    @property
    def name(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Stage:
    name: str  # the subcommand: `naslid <name>`
    help: str
    reads: tuple[str, ...]  # config sections and dotted keys the stage reads (besides SET_PER_JOB)
    inputs: tuple[Arg, ...] = ()
    outputs: tuple[Arg, ...] = ()
    criterion_reads: bool = False  # also reads the section of the experiment's split criterion (lid, gradient)

    def settings(self, config: dict, criterion: str | None = None) -> dict:
        """{key: value} of every config key this stage reads: a rule's rerun trigger."""
        keys = list(self.reads)
        if self.criterion_reads and criterion is not None:
            from naslid.method.criteria import criterion_reads

            keys += criterion_reads(criterion)
        return {key: lookup(config, key) for key in keys}


def lookup(config: dict, dotted: str):
    """The value of a dotted config key (a section: the whole mapping)."""
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def pretrained_folder(config: dict) -> str:
    """Where the workflow keeps an experiment's pretrained supernets: results/<name>/, or with
    `workflow.shared_pretrain` results/pretrain/<digest>/, named by the values of every key that
    pretraining reads, so experiments that differ only after pretraining share it."""
    if not config["workflow"]["shared_pretrain"]:
        return f"results/{config['name']}"
    import hashlib
    import json

    keys = json.dumps(get("pretrain").settings(config), sort_keys=True)
    return f"results/pretrain/{hashlib.sha256(keys.encode()).hexdigest()[:12]}"


def module_name(name: str) -> str:
    return "naslid.stages." + name.replace("-", "_")


def get(name: str) -> Stage:
    """The declaration of stage `name` (imports its module)."""
    module = importlib.import_module(module_name(name))
    stage = module.STAGE
    if stage.name != name:
        raise RuntimeError(f"{module.__name__} declares stage {stage.name!r}, not {name!r}")
    return stage


def run(name: str, config: dict, inputs, outputs):
    """Run stage `name`: its module's `run(config, inputs, outputs)`."""
    return importlib.import_module(module_name(name)).run(config, inputs, outputs)
