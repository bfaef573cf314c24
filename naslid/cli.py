"""`naslid <stage>`: one subcommand per pipeline stage, each with explicit inputs and outputs.

Errors a user can cause (NaslidError) are reported here, once, as `naslid <stage>: error: ...`
with exit status 2; nothing else catches them. A stage stopped by SIGTERM after its last checkpoint
(`naslid.preempt`) exits with status 143.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import naslid
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
        pretrain(_config(args), args.out, args.metrics)
    return run


@stage("finetune", "fine-tune one sub-supernet, inheriting its parent's weights")
def _finetune(p: argparse.ArgumentParser):
    p.add_argument("--parent", required=True, type=Path, help="checkpoint of the parent (sub-)supernet")
    p.add_argument("--split", type=Path, help="split JSON of the parent (from `naslid split`); omit to fine-tune the parent's own mask")
    p.add_argument("--child", type=int, help="index of the child in the split JSON (0, 1, ...)")
    p.add_argument("--epochs", type=int, help="epochs to train (default: finetune.epochs; 0 copies the inherited weights)")
    p.add_argument("--out", required=True, type=Path, help="sub-supernet checkpoint to write (.pt)")
    p.add_argument("--metrics", required=True, type=Path, help="per-epoch metrics JSON to write")

    def run(args):
        from naslid.split import child_of_split
        from naslid.train import finetune, load_supernet
        config = _config(args)
        if args.split is None:
            if args.child is not None:
                raise NaslidError("--child needs --split: the split JSON that lists the children")
            parent, ckpt = load_supernet(args.parent, config)
            mask, sub_id, nonlinear = parent.mask, ckpt["id"], parent.nonlinear
        else:
            if args.child is None:
                raise NaslidError("--split needs --child: which child of the split to fine-tune (0, 1, ...)")
            mask, sub_id, nonlinear = child_of_split(args.split, args.child)
        if args.epochs is not None:
            if args.epochs < 0:
                raise NaslidError(f"--epochs must be >= 0, got {args.epochs}")
            config["finetune"]["epochs"] = args.epochs
        finetune(config, args.parent, mask, sub_id, args.out, args.metrics, nonlinear)
    return run


@stage("profile", "characterise candidate edges by the split criterion (LID profiles, or gradients for GM-NAS)")
def _profile(p: argparse.ArgumentParser):
    p.add_argument("--supernet", required=True, type=Path, help="checkpoint of the (sub-)supernet to profile")
    p.add_argument("--edge", type=int, action="append",
                   help="candidate edge index 0..5 (repeatable; default: every unpartitioned edge)")
    p.add_argument("--out", required=True, type=Path, help="tidy profile table to write (.csv)")

    def run(args):
        import pandas as pd

        from naslid.criteria import get_criterion
        from naslid.data import load_dataset
        from naslid.profile import Checkpoint, write_profile
        from naslid.train import load_supernet, resolve_device, seed_everything
        config = _config(args)
        criterion = get_criterion(config["split"]["criterion"])
        if not criterion.measures:
            raise NaslidError(f"split.criterion {criterion.name!r} characterises nothing; run `naslid split` without profiles")
        seed_everything(config)
        device = resolve_device(config)
        model, ckpt = load_supernet(args.supernet, config)
        dataset = load_dataset(config["data"])
        # An edge split in an earlier round is no candidate: its table is empty, so a workflow can plan
        # one job per edge before it knows which edges the earlier splits took.
        names = model.space.EDGES
        wanted = args.edge if args.edge is not None else list(range(len(names)))
        bad = [e for e in wanted if not 0 <= e < len(names)]
        if bad:
            raise NaslidError(f"--edge {bad[0]} does not exist; this space's edges are 0..{len(names) - 1} ({', '.join(names)})")
        edges = [e for e in wanted if e in model.space.unpartitioned_edges(model.mask)]
        checkpoint = Checkpoint(Path(str(args.out) + ".resume"), config, args.supernet)
        tables = [criterion.characterise(config, model, dataset, e, ckpt["id"], device, checkpoint) for e in edges]
        write_profile(pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=criterion.columns), args.out)
        checkpoint.finish()
    return run


@stage("split", "split a (sub-)supernet in two by min-cut on its criterion's similarities")
def _split(p: argparse.ArgumentParser):
    p.add_argument("--supernet", required=True, type=Path, help="checkpoint of the (sub-)supernet to split")
    p.add_argument("--profiles", type=Path, nargs="*", default=[],
                   help="its profile tables (from `naslid profile`); none for a criterion that measures nothing (exhaustive)")
    p.add_argument("--out", required=True, type=Path, help="split JSON to write")

    def run(args):
        from naslid.criteria import get_criterion
        from naslid.io import atomic_write_json, load_checkpoint
        from naslid.profile import read_profiles
        from naslid.space import get_space
        from naslid.split import split
        config = _config(args)
        ckpt = load_checkpoint(args.supernet, "supernet")
        criterion = get_criterion(config["split"]["criterion"])
        table = read_profiles(args.profiles, criterion.columns) if criterion.measures else None
        mask = get_space(config).mask_from_lists(ckpt["mask"])
        atomic_write_json(args.out, split(config, table, mask, ckpt["id"], ckpt.get("nonlinear")))
    return run


def _on_final_supernets(p: argparse.ArgumentParser, module: str, out_help: str, options: tuple = ()):
    """A stage that reads the final sub-supernets of one split and writes one JSON: evolve, rank."""
    p.add_argument("--supernets", required=True, type=Path, nargs="+",
                   help="the final sub-supernet checkpoints of one split (one checkpoint: no split)")
    p.add_argument("--out", required=True, type=Path, help=out_help)

    def run(args):
        import importlib
        importlib.import_module(f"naslid.{module}").run(_config(args), args.supernets, args.out,
                                                         **{name: getattr(args, name) for name in options})
    return run


@stage("evolve", "evolutionary search scored by the supernet, each architecture routed to its sub-supernet")
def _evolve(p: argparse.ArgumentParser):
    p.add_argument("--estimates", type=Path, help="a rank result (rank.json) of the same sub-supernets: "
                   "the architectures it ranked are not evaluated again")
    return _on_final_supernets(p, "evolve", "search result JSON to write", options=("estimates",))


@stage("query", "look architectures up in the configured benchmark: one (--arch) or a search's best (--evolve)")
def _query(p: argparse.ArgumentParser):
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--arch", help="an NB201 architecture string; its accuracies are printed as JSON")
    what.add_argument("--evolve", type=Path, help="search result JSON (from `naslid evolve`); needs --out")
    p.add_argument("--out", type=Path, help="query result JSON to write (with --evolve)")

    def run(args):
        import json

        from naslid.query import describe, run as query
        from naslid.space.nb201 import Arch
        config = _config(args)
        if args.arch is not None:
            print(json.dumps(describe(config, Arch.from_str(args.arch)), indent=2))
        elif args.out is None:
            raise NaslidError("--evolve needs --out: the query result JSON to write")
        else:
            query(config, args.evolve, args.out)
    return run


@stage("rank", "ranking correlation of supernet estimates with the benchmark (Kendall tau, Spearman rho, top-k)")
def _rank(p: argparse.ArgumentParser):
    return _on_final_supernets(p, "rank", "rank result JSON to write")


@stage("baselines", "params, FLOPs and the NASWOT zero-cost proxy of the ranked architectures, and the ground truth's ceiling (Table 2)")
def _baselines(p: argparse.ArgumentParser):
    p.add_argument("--out", required=True, type=Path, help="baselines JSON to write")

    def run(args):
        from naslid.baselines import run as baselines
        baselines(_config(args), args.out)
    return run


@stage("cost", "peak memory and time of characterising one edge, LID vs gradient matching (Table 1)")
def _cost(p: argparse.ArgumentParser):
    p.add_argument("--supernet", required=True, type=Path, help="checkpoint of the supernet to characterise")
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 64], help="input sizes in pixels (default: 32 64)")
    p.add_argument("--out", required=True, type=Path, help="cost JSON to write")

    def run(args):
        from naslid.cost import run as cost
        if any(size < 8 for size in args.sizes):
            raise NaslidError(f"--sizes must be at least 8 pixels (three stages halve the input twice), got {args.sizes}")
        cost(_config(args), args.supernet, args.sizes, args.out)
    return run


@stage("tables", "the paper's tables (2, 3, 5) and figures (1, 4, 5, Table 2's) from a results tree")
def _tables(p: argparse.ArgumentParser):
    p.add_argument("--results", required=True, type=Path, help="results directory of one config (results/<name>)")

    def run(args):
        from naslid.tables import run as tables
        tables(args.results, _config(args))
    return run


@stage("train-final", "train the searched architecture from scratch on the configured dataset (Table 4)")
def _train_final(p: argparse.ArgumentParser):
    p.add_argument("--evolve", type=Path, help="search result (from `naslid evolve`): its best architecture is trained")
    p.add_argument("--arch", help="or an architecture string of the configured space")
    p.add_argument("--out", required=True, type=Path, help="weights of the trained network to write (.pt)")
    p.add_argument("--metrics", required=True, type=Path, help="result JSON to write (accuracy, error, FLOPs, parameters)")

    def run(args):
        from naslid.final import searched_arch, train_final
        from naslid.space import get_space
        config = _config(args)
        arch = searched_arch(get_space(config), args.evolve, args.arch)
        train_final(config, arch, args.out, args.metrics)
    return run


@stage("build-benchmark", "train a stratified sample of architectures stand-alone: a ground-truth table (resumable)")
def _build_benchmark(p: argparse.ArgumentParser):
    p.add_argument("--out", required=True, type=Path, help="table to write (.csv); its record goes beside it (.json)")
    p.add_argument("--archs", type=int, nargs="+", metavar="INDEX",
                   help="NB201 indices to train instead of the stratified sample (e.g. to re-check shipped rows)")

    def run(args):
        from naslid.build_benchmark import build, command_line
        from naslid.space.nb201 import Arch
        config = _config(args)
        for index in args.archs or []:
            Arch.from_index(index)  # a bad index fails before any training
        build(config, args.out, args.archs, command_line())
    return run


def _config(args) -> dict:
    """The config files in order (later ones override), then the --set overrides; validated."""
    import yaml
    overrides: dict = {}
    for item in args.set or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise NaslidError(f"--set expects KEY=VALUE with a dotted key, e.g. --set split.criterion=gradient; got {item!r}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="naslid", description=naslid.__doc__.strip() + "\n\nStages, in pipeline order:",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"naslid {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="<stage>", required=True)
    for name, (help_text, build) in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", type=Path, required=True, nargs="+",
                       help="experiment config YAML(s), later files overriding earlier ones (e.g. config/config.yaml)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override one config key, e.g. --set seed=1 --set split.criterion=gradient (repeatable)")
        p.set_defaults(run=build(p))
    return parser


def main(argv: list[str] | None = None) -> int:
    from naslid import preempt
    parser = build_parser()
    args = parser.parse_args(argv)
    preempt.install()
    try:
        args.run(args)
    except preempt.Preempted as err:
        print(f"naslid {args.stage}: {err}", file=sys.stderr)
        return preempt.EXIT_STATUS
    except NaslidError as err:
        print(f"naslid {args.stage}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
