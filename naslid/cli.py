"""`naslid <stage>`: one subcommand per pipeline stage, each with explicit inputs and outputs.

Errors a user can cause (NaslidError) are reported here, once, as `naslid <stage>: error: ...`
with exit status 2; nothing else catches them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from naslid import __version__
from naslid.config import load_config
from naslid.errors import NaslidError

STAGES: dict = {}


def stage(name: str, help: str):
    """Register `func(args)` as subcommand `name`; `build(parser)` adds its arguments."""
    def register(build):
        STAGES[name] = (help, build)
        return build
    return register


@stage("pretrain", "train the full supernet with random single-path sampling (RSPS)")
def _pretrain(p: argparse.ArgumentParser):
    p.add_argument("--out", required=True, type=Path, help="supernet checkpoint to write (.pt)")
    p.add_argument("--metrics", required=True, type=Path, help="per-epoch metrics JSON to write")

    def run(args):
        from naslid.train import pretrain
        pretrain(load_config(args.config), args.out, args.metrics)
    return run


@stage("finetune", "fine-tune one sub-supernet, inheriting its parent's weights")
def _finetune(p: argparse.ArgumentParser):
    p.add_argument("--parent", required=True, type=Path, help="checkpoint of the parent (sub-)supernet")
    p.add_argument("--split", type=Path, help="split JSON of the parent (from `naslid split`); omit to fine-tune the parent's own mask")
    p.add_argument("--child", type=int, help="index of the child in the split JSON (0, 1, ...)")
    p.add_argument("--out", required=True, type=Path, help="sub-supernet checkpoint to write (.pt)")
    p.add_argument("--metrics", required=True, type=Path, help="per-epoch metrics JSON to write")

    def run(args):
        from naslid.split import child_of_split
        from naslid.train import finetune, load_supernet
        config = load_config(args.config)
        if args.split is None:
            if args.child is not None:
                raise NaslidError("--child needs --split: the split JSON that lists the children")
            parent, ckpt = load_supernet(args.parent, config)
            mask, sub_id = parent.mask, ckpt["id"]
        else:
            if args.child is None:
                raise NaslidError("--split needs --child: which child of the split to fine-tune (0, 1, ...)")
            mask, sub_id = child_of_split(args.split, args.child)
        finetune(config, args.parent, mask, sub_id, args.out, args.metrics)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="naslid", description=__doc__.splitlines()[0] + "\n\nStages, in pipeline order:",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"naslid {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="<stage>", required=True)
    for name, (help_text, build) in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", type=Path, required=True, help="experiment config YAML (e.g. config/config.yaml)")
        p.set_defaults(run=build(p))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except NaslidError as err:
        print(f"naslid {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
