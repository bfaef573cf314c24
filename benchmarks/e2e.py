"""End to end: wall time of the README's `make run` on the embedded default, cold (a fresh clone,
empty results/), and of a rerun after an evolution-only config change; the share of each stage from
the jobs' time records (Snakemake's `benchmark:` files, results/.../times/).

    python benchmarks/e2e.py --workdir /tmp/naslid-e2e            # clones this repo there, runs cold, then the rerun
    python benchmarks/e2e.py --workdir DIR --rerun-only           # only the rerun, on a finished run in DIR

The clone's `make setup` (its venv) is done first and not timed; the timed commands are `make run`
and `make run CONFIG="config/config.yaml evolve-change.yaml"` (2 cores, as the README). Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from _record import record

REPO = Path(__file__).resolve().parents[1]


def make(workdir: Path, *args: str) -> float:
    start = time.perf_counter()
    out = subprocess.run(["make", *args], cwd=workdir, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"make {' '.join(args)} failed in {workdir}:\n{out.stderr[-3000:]}")
    return time.perf_counter() - start


def stage_seconds(results: Path) -> dict[str, float]:
    """Summed job seconds per stage (rule), from every job's time record (Snakemake's `benchmark:`
    .tsv files, in results/.../times/; in benchmarks/ in trees written before 2eb53b2, read only
    where a tree has no times/, so a tree rerun since is not counted twice)."""
    totals: dict[str, float] = defaultdict(float)
    folder = "times" if any(results.rglob("times")) else "benchmarks"
    for tsv in results.rglob(f"{folder}/**/*.tsv"):
        parts = tsv.relative_to(results).parts
        stage = parts[parts.index(folder) + 1].removesuffix(".tsv")
        stage = tsv.stem if stage.startswith("s") and stage[1:].isdigit() else stage
        with tsv.open() as f:
            totals[stage] += float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--rerun-only", action="store_true")
    args = p.parse_args()
    figures, details = {}, {"cores": 2}
    if not args.rerun_only:
        if args.workdir.exists():
            sys.exit(f"{args.workdir} exists; give a new directory for a cold run")
        subprocess.run(["git", "clone", "-q", str(REPO), str(args.workdir)], check=True)
        details["setup_seconds"] = make(args.workdir, "setup")
        cold = make(args.workdir, "run")
        figures["e2e_cold_seconds"] = (round(cold, 1), 600, "s (2 cores, empty results/)")
        details["cold_seconds"] = cold
    (args.workdir / "evolve-change.yaml").write_text("evolve: {mutation_prob: 0.15}\n")
    rerun = make(args.workdir, "run", "CONFIG=config/config.yaml evolve-change.yaml")
    figures["e2e_rerun_seconds"] = (round(rerun, 1), 60, "s (after an evolve-only config change)")
    details["rerun_seconds"] = rerun
    shares = stage_seconds(args.workdir / "results" / "default")
    total = sum(shares.values())
    details["stage_seconds"] = shares
    print("| stage | job seconds | share |\n|---|---|---|")
    for stage, seconds in shares.items():
        print(f"| {stage} | {seconds:.0f} | {100 * seconds / total:.0f}% |")
    print(", ".join(f"{k}: {v[0]}" for k, v in figures.items()))
    record("e2e", details, figures)


if __name__ == "__main__":
    main()
