"""SIGTERM, what SLURM sends before preemption or the time limit: finish the unit of work at hand,
checkpoint, and exit non-zero so that Snakemake (or SLURM's requeue) runs the stage again.

The long stages checkpoint atomically after every unit: training after every epoch, evolution
after every generation, profiling after every batch group (all candidate ops on one batch; a large
state only every few groups: `naslid.method.profile.Checkpoint`), ranking and the baselines after
architectures (every few: `naslid.runtime.resume.map_resumable`), ground-truth building after every
architecture. On SIGTERM a stage does not
die mid-unit; it completes the current unit (the slurm profile asks for SIGTERM 5 minutes before
the time limit, room for one NB201 epoch on a GPU), writes that unit's checkpoint as usual, and
then stops with `Preempted` (exit status 143, as if killed by the signal). A rerun resumes from
the checkpoint and ends identical to an uninterrupted run on CPU. If the unit does not finish in
time, SLURM's SIGKILL follows and the rerun resumes from the unit before: nothing is lost but it.
Short stages (split, query, tables) simply end; their outputs appear atomically or not at all.
"""

from __future__ import annotations

import re
import signal
import sys

from naslid.errors import NaslidError

EXIT_STATUS = 128 + signal.SIGTERM  # 143: what a shell reports for a process ended by SIGTERM


# The line a resumed stage prints to stderr, one per resume: `resumed <stage> at <unit> <k> of <n> from <file>`.
RESUMED = re.compile(r"^resumed (\S+) at (\w+) (\d+) of (\d+) from ", re.MULTILINE)

_requested = False


class Preempted(NaslidError):
    """The stage stopped after a checkpoint because it was asked to (SIGTERM)."""


def _on_sigterm(signum, frame) -> None:
    global _requested
    _requested = True


def install() -> None:
    """Catch SIGTERM from now on (the CLI installs this before running a stage)."""
    global _requested
    _requested = False
    signal.signal(signal.SIGTERM, _on_sigterm)


def requested() -> bool:
    return _requested


def checkpoint_done(what: str) -> None:
    """Call right after a unit's checkpoint is written: stop here if SIGTERM has arrived."""
    if _requested:
        raise Preempted(f"stopped by SIGTERM after {what}; rerun the same command to resume from there")


def resumed(stage: str, unit: str, done: int, total: int, source) -> None:
    """Say that `stage` continues from its checkpoint `source` with `done` of `total` units finished
    (they are not computed again), in the one format (`RESUMED`) an operator or a test can grep."""
    print(f"resumed {stage} at {unit} {done} of {total} from {source}", file=sys.stderr)
