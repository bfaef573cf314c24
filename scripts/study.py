#!/usr/bin/env python3
"""The study of config/study/: splitting compared at the literature's budgets (README.md, "The study").

    scripts/study.py run curve            # one part: its arms in turn (Snakemake, resumable after a kill)
    scripts/study.py run curve --dry-run  # what it would run
    scripts/study.py run ft2              # one arm of a part
    scripts/study.py report               # the study's tables and figures from every finished arm
    scripts/study.py keep                 # copy every arm's runs, all but the weights, into the repository

An arm is config/study/base.yaml plus one overlay (config/study/<arm>.yaml), one Snakemake workflow
writing results/study-<arm>/; arms with equal pretraining keys share results/pretrain/<digest>/
(workflow.shared_pretrain). A killed part is resumed by running it again: Snakemake reruns only what
is missing or incomplete. Run it beside other work at a low priority: `nice -n 19 scripts/study.py run PART`.
`report` reads whatever arms have finished and writes results/study/ (`--out` to change it).
`keep` copies the runs (every file but the fine-tuned supernets' weights) into
results/reference/study/runs/, a results tree to commit: runs made on a machine that does not last
survive it, and `report --results results/reference/study/runs` rebuilds their tables anywhere.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from naslid.config import load_config  # noqa: E402  (the repository's package, also without its venv)

STUDY = REPO / "config" / "study"
KEPT = REPO / "results" / "reference" / "study" / "runs"  # the runs the repository keeps (`keep`)
# The parts, each one command of at most 2.5 h on 2 cores (README.md, "The study", gives each one's
# measured or estimated time): (arm, its criteria or None for all, its seeds or None for all). The
# 50-epoch arms are split by criterion to fit; `none` runs in the first half, whose pretraining the
# second shares. ft50 asks twenty seeds, five a pair of parts: long-a and long-b run the first five,
# the study's minimum; the rest run as the time allows: five leave every paired test at 50 epochs
# wider than ±0.03, ten bring NAS-LID against `random` to it, and the tests against `none` need about
# twenty (results/reference/study/kept/precision.md).
FIRST, SECOND, THIRD, FOURTH = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]
PARTS = {
    "curve": [("curve-25", None, None), ("curve-50", None, None), ("curve-100", None, None), ("curve-200", None, None)],
    "short": [("ft2", None, None)],
    "medium": [("ft10", None, None)],
    "long-a": [("ft50", ["lid", "none"], FIRST)],
    "long-b": [("ft50", ["random", "gradient"], FIRST)],
    "long-c": [("ft50", ["lid", "none"], SECOND)],
    "long-d": [("ft50", ["random", "gradient"], SECOND)],
    "long-e": [("ft50", ["lid", "none"], THIRD)],
    "long-f": [("ft50", ["random", "gradient"], THIRD)],
    "long-g": [("ft50", ["lid", "none"], FOURTH)],
    "long-h": [("ft50", ["random", "gradient"], FOURTH)],
    "stability": [("profile50", None, None)],
    "control-a": [("ft50-scratch", ["lid", "none"], None)],
    "control-b": [("ft50-scratch", ["random", "gradient"], None)],
    "n2-a": [("n2-ft50", ["lid", "none"], None)],
    "n2-b": [("n2-ft50", ["random", "gradient"], None)],
}
ARMS = sorted({arm for arms in PARTS.values() for arm, _, _ in arms})
FIRST_SPLITS = ["lid", "gradient"]  # profile50 makes only the first split of these, for split stability


def cut_criteria(asked: list[str]) -> list[str]:
    """The criteria a cut arm runs: those asked, with a control their rows pair with (none, unless
    random is asked; the report shows an arm once it has one)."""
    return sorted({*asked, *([] if "random" in asked else ["none"])})


def _describe(arms: list[tuple[str, list[str] | None, list[int] | None]]) -> str:
    def one(arm, criteria, seeds):
        cut = [*([" + ".join(criteria)] if criteria else []), *([f"seeds {seeds[0]}-{seeds[-1]}"] if seeds else [])]
        return f"{arm} ({', '.join(cut)})" if cut else arm

    return ", ".join(one(*arm) for arm in arms)


def arm_targets(arm: str, criteria: list[str] | None = None, seeds: list[int] | None = None) -> list[str]:
    """What the report reads of an arm: every ranking and the baselines (not the searches, Table 1 or
    the arm's own tables, which `snakemake --configfile config/study/base.yaml config/study/<arm>.yaml`
    makes when wanted); the profile50 arm only its first splits. `criteria`, `seeds`: only these."""
    config = load_config([STUDY / "base.yaml", STUDY / f"{arm}.yaml"])
    seeds, folder = seeds or config["workflow"]["seeds"], f"results/study-{arm}"
    if arm == "profile50":
        return [f"{folder}/{c}/s{s}/split/r.json" for c in FIRST_SPLITS for s in seeds]
    kept = [c for c in config["workflow"]["criteria"] if criteria is None or c in criteria]
    return [f"{folder}/{c}/s{s}/rank.json" for c in kept for s in seeds] + [
        f"{folder}/s{s}/baselines.json" for s in seeds
    ]


def snakemake(
    arm: str, cores: int, dry_run: bool, criteria: list[str] | None = None, seeds: list[int] | None = None
) -> int:
    # The targets first: --configfile takes every value that follows it.
    targets = arm_targets(arm, criteria, seeds)
    command = [
        str(REPO / "scripts" / "run-workflow.sh"),
        *targets,
        "--cores",
        str(cores),
        "--configfile",
        str(STUDY / "base.yaml"),
        str(STUDY / f"{arm}.yaml"),
    ]
    command += ["--quiet", "rules"] if not dry_run else []
    if dry_run:
        command += ["--dry-run"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    start = time.monotonic()
    print(f"study: arm {arm}: config/study/base.yaml + {arm}.yaml, {len(targets) or 'every'} target(s)", flush=True)
    code = subprocess.run(command, cwd=REPO, env=env).returncode
    if not dry_run:
        print(
            f"study: arm {arm} {'finished' if code == 0 else f'failed (exit {code})'} after "
            f"{time.monotonic() - start:.0f} s",
            flush=True,
        )
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="parts: " + "; ".join(f"{p}: {_describe(arms)}" for p, arms in PARTS.items()),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run every arm of one part of the study (or one arm)")
    run.add_argument("part", choices=[*PARTS, *ARMS])
    run.add_argument("--cores", type=int, default=2)
    run.add_argument("--dry-run", action="store_true", help="list the jobs each arm would run")
    run.add_argument(
        "--criteria",
        nargs="+",
        metavar="NAME",
        help="run only these criteria of each arm (and none, unless random is one): a cut arm, which the report marks",
    )
    report = commands.add_parser("report", help="the study's tables and figures from every finished arm")
    report.add_argument("--out", type=Path, default=REPO / "results" / "study")
    report.add_argument(
        "--results", type=Path, default=REPO / "results", help="the results tree to read (default: results/)"
    )
    keep = commands.add_parser("keep", help="copy every arm's runs under results/, all but the weights, to keep")
    keep.add_argument("--into", type=Path, default=KEPT, help="default: results/reference/study/runs/")
    keep.add_argument(
        "--results", type=Path, default=REPO / "results", help="the results tree to copy from (default: results/)"
    )
    keep.add_argument(
        "--replace",
        action="store_true",
        help="keep this run's results where they differ from the kept ones, each seed it ran replaced whole",
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        for arm, criteria, seeds in PARTS.get(args.part, [(args.part, None, None)]):
            if args.criteria is not None:
                criteria = cut_criteria(args.criteria)
            code = snakemake(arm, args.cores, args.dry_run, criteria, seeds)
            if code:
                return code
        return 0
    from naslid.errors import NaslidError
    from naslid.study import keep as keep_runs, report as write_report

    try:
        if args.command == "keep":
            keep_runs(args.results, args.into, args.replace)
        else:
            write_report(args.results, args.out)
    except NaslidError as err:
        print(f"study: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
