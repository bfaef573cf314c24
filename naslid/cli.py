"""`naslid <stage>`: one subcommand per pipeline stage, built from the stages' declarations.

Each subcommand's flags are its stage's declared inputs and outputs (`naslid.stages`), plus
`--config` and `--set`; the subcommand calls the stage's `run(config, inputs, outputs)`. No stage
logic lives here.

Errors a user can cause (NaslidError) are reported here, once, as `naslid <stage>: error: ...`
with exit status 2; nothing else catches them. A stage stopped by SIGTERM after its last checkpoint
(`naslid.runtime.preempt`) exits with status 143.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import naslid
from naslid import __version__, stages
from naslid.config import load_config
from naslid.errors import NaslidError


def _config(args) -> dict:
    """The config files in order (later ones override), then the --set overrides; validated."""
    import yaml

    overrides: dict = {}
    for item in args.set or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise NaslidError(
                f"--set expects KEY=VALUE with a dotted key, e.g. --set split.criterion=gradient; got {item!r}"
            )
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise NaslidError(f"--set {item!r}: the value is not valid YAML") from None
        *parents, leaf = key.split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return load_config(args.config, overrides, source="--set")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every stage, or of stage `only`: a job imports its own stage's module, not
    every stage's (torch, scipy, matplotlib: seconds at each of the workflow's many job starts)."""
    parser = argparse.ArgumentParser(
        prog="naslid",
        description=naslid.__doc__.strip() + "\n\nStages, in pipeline order:",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"naslid {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="<stage>", required=True)
    for name in [only] if only else stages.NAMES:
        stage = stages.get(name)
        p = sub.add_parser(name, help=stage.help, description=stage.help)
        p.add_argument(
            "--config",
            type=Path,
            required=True,
            nargs="+",
            help="experiment config YAML(s), later files overriding earlier ones (e.g. config/config.yaml)",
        )
        p.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override one config key, e.g. --set seed=1 --set split.criterion=gradient (repeatable)",
        )
        for arg in stage.inputs + stage.outputs:
            many = {"nargs": "*" if arg.empty_ok else "+", "action": "extend"} if arg.many else {}
            # a given list replaces the default (argparse's extend would append to it): default after parsing
            p.add_argument(
                arg.flag,
                dest=arg.name,
                type=arg.type,
                default=None if arg.many else arg.default,
                required=arg.required,
                help=arg.help,
                **many,
            )
        p.set_defaults(declared=stage)
    return parser


def _namespace(args, declared: tuple) -> argparse.Namespace:
    given = {arg.name: getattr(args, arg.name) for arg in declared}
    return argparse.Namespace(
        **{arg.name: arg.default if arg.many and given[arg.name] is None else given[arg.name] for arg in declared}
    )


def main(argv: list[str] | None = None) -> int:
    from naslid.runtime import preempt

    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = build_parser(argv[0] if argv and argv[0] in stages.NAMES else None)
    args = parser.parse_args(argv)
    preempt.install()
    try:
        stage = args.declared
        stages.run(stage.name, _config(args), _namespace(args, stage.inputs), _namespace(args, stage.outputs))
    except preempt.Preempted as err:
        print(f"naslid {args.stage}: {err}", file=sys.stderr)
        return preempt.EXIT_STATUS
    except NaslidError as err:
        print(f"naslid {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
