"""The ground truth of the configured search space: what the stages that rank, search within a
table and look architectures up read (`ground_truth_of(config)`).

A space whose architectures some benchmark tabulates registers the module that reads those tables
in `TABLES` (NB201: `naslid.spaces.nb201.ground_truth`, the compact CSV, the official file and
NATS-Bench). Only the stages that import this module have the table readers in their code closure
(`naslid/code.py`), so editing a reader reruns what reads tables and not, say, pretraining.
"""

from __future__ import annotations

from naslid.errors import BenchmarkError
from naslid.spaces.nb201 import ground_truth as nb201_tables

TABLES = {"nb201": nb201_tables}


def ground_truth_of(config: dict):
    """The table reader of `space.name` (`open_benchmark`, `open_reference`, `ground_truth_column`,
    `lookup`, `optimum`, `protocol_archs`, `shipped_or_path`, `column_prefix`); one clear error for a
    space that no benchmark tabulates."""
    name = config["space"]["name"]
    if name not in TABLES:
        raise BenchmarkError(
            f"no benchmark tabulates the {name} space; set benchmark.kind: none "
            "(the workflow then trains each search's best from scratch: naslid train-final)"
        )
    return TABLES[name]
