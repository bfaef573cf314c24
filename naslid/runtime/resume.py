"""Resuming an interrupted job: one resume file per output, used only by the same job.

Every long stage (pretrain, finetune, train-final, evolve, profile, rank, baselines,
build-benchmark) saves its progress atomically to `<out>.resume` (build-benchmark: a marker in its
parts folder) after each unit of work (an epoch, a generation, a batch group, an architecture's
estimate), with the *fingerprint* of what it computes: the
settings, the schedule, the initial weights or input files. A restarted job continues from the
file only if the fingerprint is the same, announces it as `resumed <stage> at <unit> k of n`
(`naslid.runtime.preempt`), and ends as an uninterrupted job would; a file of another job is
ignored, said so, and replaced. The output's writer removes the file (`finish`).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from naslid.errors import CheckpointError
from naslid.io import atomic_torch_save, load_checkpoint
from naslid.runtime import preempt

FORMAT = 2  # the layout below; a resume file of an older naslid (per-stage layouts) is ignored


def fingerprint(*parts, tensors=(), files=()) -> str:
    """What identifies a job: the JSON of `parts` (settings, schedule, ids), then the bytes of
    `tensors` (initial weights) and of `files` (a checkpoint it reads)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for tensor in tensors:
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class ResumeFile:
    """The resume file (`<out>.resume`) of one job of `stage`, valid for one `fingerprint`."""

    def __init__(self, path: str | Path, stage: str, fingerprint: str):
        self.path = Path(path)
        self.stage, self.fingerprint = stage, fingerprint

    def load(self) -> dict | None:
        """The saved state, or None: no file, or one of another job (said so on stderr). The caller
        announces what it resumes (`preempt.resumed`)."""
        if not self.path.is_file():
            return None
        try:
            saved = load_checkpoint(self.path, "resume")
        except CheckpointError as err:  # truncated, or an older naslid's layout: start over
            print(f"ignoring {self.path}: {err}", file=sys.stderr)
            return None
        if saved.get("format") != FORMAT or saved.get("fingerprint") != self.fingerprint:
            print(
                f"ignoring {self.path}: it belongs to another job (config, architecture, initial weights or inputs)",
                file=sys.stderr,
            )
            return None
        return saved["state"]

    def save(self, state: dict) -> None:
        """Write `state` atomically (the caller then lets a SIGTERM stop the job: `preempt.checkpoint_done`)."""
        atomic_torch_save(
            self.path,
            {"kind": "resume", "format": FORMAT, "stage": self.stage, "fingerprint": self.fingerprint, "state": state},
        )

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


WRITE_SHARE = 0.1  # the most of a job's time that writing its checkpoints may take


class Throttle:
    """When to write a checkpoint whose units are short: only while writing takes at most
    `WRITE_SHARE` of the job's time, and at once when SIGTERM has arrived (so a preempted job loses
    nothing; a killed one loses at most the units since the last write)."""

    def __init__(self):
        self.written, self.writing = time.monotonic(), 0.0  # when the last write ended, and how long it took

    def due(self) -> bool:
        return preempt.requested() or time.monotonic() - self.written >= self.writing / WRITE_SHARE

    def write(self, save: Callable[[], None]) -> None:
        start = time.monotonic()
        save()
        self.written = time.monotonic()
        self.writing = self.written - start


def map_resumable(compute: Callable, items: Sequence, resume: ResumeFile, unit: str, desc: str) -> list:
    """[compute(item) for item in items], resumable: the values so far go to `resume` (throttled,
    `Throttle`), and a restarted job computes only the items after them, announced as
    `resumed <stage> at <unit> k of n`. `compute` must not depend on the items before (a seeded
    stream is seeded per item). The caller calls `resume.finish()` once its output is written."""
    values = (resume.load() or {}).get("values", [])
    if values:
        preempt.resumed(resume.stage, unit, len(values), len(items), resume.path)
    throttle = Throttle()
    for item in tqdm(items[len(values) :], desc=desc, initial=len(values), total=len(items), disable=None):
        values.append(compute(item))
        if len(values) < len(items) and throttle.due():
            throttle.write(lambda: resume.save({"values": values}))
            preempt.checkpoint_done(f"{unit} {len(values)} of {len(items)} ({resume.path})")
    return values
