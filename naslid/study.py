"""The study's report (scripts/study.py report): every finished arm of config/study/ in one verdict.

Each arm is one results tree, `results/study-<arm>/`, made by the workflow like any experiment. The
report reads what the tables stage reads (rank.json, baselines.json, the first split) and writes to
one folder:
- `curve`: the pretraining curve, tau of the one-shot supernet (none, no fine-tuning) and its sampled
  paths' validation accuracy against pretraining epochs (arms curve-*), with `fig_curve.png`;
- `study`: per arm (fine-tuning budget, inherited or re-initialised weights, space) and criterion,
  tau over all and the top 50 (mean ± std over seeds [95 % interval]), and the paired Δτ against
  `none` and against `random` (bootstrap over seeds and architectures), a `*` where Holm's correction
  over every paired test of the study still calls the difference significant at 5 %; then the
  baselines, the benchmark's seed-vs-seed agreement and the ceiling (Table 2's rows); with
  `fig_study.png`;
- `stability`: which edge the first split of lid and gradient chose in each seed, how well the
  partitions of its ops agree across seeds (adjusted Rand index, scikit-learn's), and between 4 and 50
  profiling batches on the same pretrained parent (arm profile50);
- `precision`: per arm and paired test over all architectures, the interval's half-width now, its
  floor from the architectures alone, and projected at 10, 20 and 40 seeds drawn like the run ones
  (`naslid.method.stats.half_widths`): how many seeds a ±0.03 verdict needs;
- `cost`: what each arm's criteria and its shared pretraining cost, from Snakemake's benchmark files
  (`times/`): jobs, CPU hours, CPU seconds per seed (README.md's part times are its sums over 2 cores).
Each table as .md, .csv and .tex (`naslid.stages.tables.write_table`).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from naslid.config import flat_items, load_config
from naslid.errors import CheckpointError, NaslidError
from naslid.io import atomic_write_bytes, load_checkpoint
from naslid.stages import pretrained_folder
from naslid.method.stats import bootstrap, half_widths
from naslid.stages.tables import (
    paired_samples,
    runs_by_seed,
    read_baselines,
    read_experiments,
    new_figure,
    holm_marks,
    interval_cell,
    save_figure,
    table2,
    write_table,
)

CURVE_ARMS = ("curve-25", "curve-50", "curve-100", "curve-200")
BUDGET_ARMS = ("ft2", "ft10", "ft50", "ft50-scratch", "n2-ft50")
CONTROLS = ("none", "random")
MIN_SEEDS = 5  # the fewest seeds a row of the study stands on (issue 35: at least five)
TAU_COLUMNS = [f"tau_{label}{part}" for label in ("all", "top50") for part in ("", "_lo", "_hi", "_std")]


def _arm(results: Path, arm: str) -> tuple[dict, list[dict], list[str]] | None:
    """(config, rank results, what was left out) of an arm whose `none` or `random` (the controls a
    row is paired with) has finished enough seeds, or None. A criterion is kept with the seeds it has
    finished once they are enough (MIN_SEEDS, or all the arm asks for when it asks fewer), so that
    seeds added to an arm do not hide its rows until the last one ends; paired tests pair over the
    seeds both rows ran (`tables.paired_samples`). Left out, with its count: a criterion cut from the
    arm (`scripts/study.py run ARM --criteria ...`) or short of seeds."""
    folder = results / f"study-{arm}"
    if not (folder / "config.yaml").is_file():
        return None
    config = load_config(folder / "config.yaml")
    ranks = read_experiments(folder, "rank")
    seeds = len(config["workflow"]["seeds"])
    finished = {c: sum(r["criterion"] == c for r in ranks) for c in config["workflow"]["criteria"]}
    kept = [c for c, n in finished.items() if n >= min(MIN_SEEDS, seeds)]
    if not set(CONTROLS) & set(kept):
        return None
    left = [f"{c} ({n}/{seeds} seeds)" for c, n in finished.items() if c not in kept]
    return config, [r for r in ranks if r["criterion"] in kept], left


def _finished(results: Path, arms) -> list[tuple[str, dict, list[dict], list[str]]]:
    """(arm, config, rank results, what was left out) of each of `arms` that has finished (`_arm`)."""
    return [(arm, *loaded) for arm in arms if (loaded := _arm(results, arm)) is not None]


def _pretrained(results: Path, config: dict) -> Path:
    """An arm's shared pretraining folder inside `results` (a workflow's results/ or a kept copy)."""
    return results / Path(pretrained_folder(config)).relative_to("results")


def _budget(config: dict) -> str:
    init = "re-initialised" if config["finetune"]["init"] == "scratch" else "inherited"
    space = f", N = {config['space']['N']}" if config["space"]["N"] != 1 else ""
    return f"{config['train']['epochs']} + {config['finetune']['epochs']}/sub-supernet ({init}{space})"


def study_table(results: Path, finished: list) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(numbers, cells) over the `finished` budget arms (`_finished`), or None if none has finished."""
    frames, reference = [], None
    for arm, config, ranks, left in finished:
        numbers, _ = table2(ranks, config, read_baselines(results / f"study-{arm}"))
        if left:  # an arm cut or still running says what its table leaves out
            numbers.loc[numbers["kind"] == "criterion", "note"] = f"left out, seeds finished: {', '.join(left)}"
        numbers.insert(0, "budget", _budget(config))
        numbers.insert(0, "arm", arm)
        frames.append(numbers[numbers["kind"] == "criterion"])
        if reference is None or arm == "ft2":
            reference = numbers[numbers["kind"] != "criterion"].assign(arm="benchmark", budget="")
    if not frames:
        return None
    numbers = pd.concat([*frames, reference], ignore_index=True)
    numbers = numbers.drop(columns=[c for c in numbers if c.endswith("_holm")])
    numbers = holm_marks(numbers)  # one family: every paired test of the study
    return numbers, _cells(numbers)


def _cells(numbers: pd.DataFrame) -> pd.DataFrame:
    table = numbers[["arm", "budget", "criterion", "seeds"]].copy()
    for label, heading in (("all", "all"), ("top50", "top-50")):
        table[f"τ {heading}"] = [interval_cell(row, f"tau_{label}") for _, row in numbers.iterrows()]
    for control in CONTROLS:
        for label, heading in (("all", "all"), ("top50", "top-50")):
            table[f"Δτ vs {control} {heading}"] = [
                interval_cell(row, f"dtau_{control}_{label}", signed=True) for _, row in numbers.iterrows()
            ]
    table["note"] = numbers["note"]
    return table


def curve_table(results: Path, arms: list[str]) -> pd.DataFrame | None:
    """The pretraining curve: one row per finished curve arm, by pretraining epochs, with the paired
    Δτ over all against the budget before it (the same seeds and resampled architectures)."""
    finished = sorted(_finished(results, arms), key=lambda arm: arm[1]["train"]["epochs"])
    rows, before = [], None
    for _, config, ranks, _ in finished:
        numbers, _ = table2(ranks, config)
        row = numbers.set_index("criterion").loc["none"]
        accuracy = []
        for seed in config["workflow"]["seeds"]:
            metrics = _pretrained(results, config) / f"s{seed}" / "pretrain" / "metrics.json"
            record = json.loads(metrics.read_text()) if metrics.is_file() else {"metrics": []}
            if record["metrics"]:
                accuracy.append(record["metrics"][-1]["valid_acc"])
        runs = runs_by_seed(ranks)
        gain = {}
        if before is not None:
            pairs, minus = paired_samples("none", runs, "none (fewer epochs)", before, None)
            gain = bootstrap(pairs, "tau", minus=minus)
        before = runs
        rows.append(
            {
                "pretrain epochs": config["train"]["epochs"],
                "seeds": len(config["workflow"]["seeds"]),
                **{c: row.get(c) for c in TAU_COLUMNS},
                "dtau_before": gain.get("mean"),
                "dtau_before_lo": gain.get("lo"),
                "dtau_before_hi": gain.get("hi"),
                "sampled-path valid acc %": float(np.mean(accuracy)) if accuracy else np.nan,
                "valid acc std": float(np.std(accuracy)) if accuracy else np.nan,
            }
        )
    return pd.DataFrame(rows) if rows else None


def _first_splits(results: Path, arm: str, criterion: str) -> dict[int, dict]:
    return {
        int(p.parents[1].name[1:]): json.loads(p.read_text())
        for p in sorted((results / f"study-{arm}" / criterion).glob("s*/split/r.json"))
    }


def _labels(split: dict) -> list[int]:
    """Each op of the split edge labelled by its group, the ops in a fixed order."""
    ops = sorted(op for group in split["groups"] for op in group)
    return [next(i for i, group in enumerate(split["groups"]) if op in group) for op in ops]


def stability_table(results: Path, arm: str = "ft2", other: str = "profile50") -> pd.DataFrame | None:
    """Per criterion and number of profiling batches (`arm`'s 4, `other`'s 50, on the same pretrained
    parents): the first split's edge and partition in each seed, their agreement across seeds, and,
    with more batches, their agreement with the fewer-batch split of the same seed."""
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for criterion in ("lid", "gradient"):
        fewer = _first_splits(results, arm, criterion)
        for splits, before in ((fewer, {}), (_first_splits(results, other, criterion), fewer)):
            if len(splits) < 2:
                continue
            pairs = list(itertools.combinations(sorted(splits), 2))
            ari = [adjusted_rand_score(_labels(splits[a]), _labels(splits[b])) for a, b in pairs]
            same_edge = sum(splits[a]["edge"] == splits[b]["edge"] for a, b in pairs)
            row = {
                "criterion": criterion,
                "profiling batches": next(iter(splits.values()))["config"][_profiling_section(criterion)]["batches"],
                "seeds": len(splits),
                "seed pairs on the same edge": f"{same_edge}/{len(pairs)}",
                "partition ARI across seeds (mean [min, max])": _summary(ari),
                "split per seed": "; ".join(f"s{s}: {_describe_split(splits[s])}" for s in sorted(splits)),
            }
            common = sorted(set(before) & set(splits))
            if common:
                row["same edge as with fewer batches"] = (
                    f"{sum(before[s]['edge'] == splits[s]['edge'] for s in common)}/{len(common)}"
                )
                row["partition ARI vs fewer batches"] = _summary(
                    [adjusted_rand_score(_labels(before[s]), _labels(splits[s])) for s in common]
                )
            rows.append(row)
    return pd.DataFrame(rows).fillna("") if rows else None


def _profiling_section(criterion: str) -> str:
    """The config section that sets how many batches a criterion profiles."""
    return "gradient" if criterion == "gradient" else "lid"


def _describe_split(split: dict) -> str:
    return f"{split['edge']} " + " vs ".join("{" + ", ".join(group) + "}" for group in split["groups"])


def precision_table(finished: list, seeds: tuple[int, ...] = (10, 20, 40)) -> pd.DataFrame | None:
    """Per `finished` budget arm (`_finished`) and paired test over all architectures (each criterion
    against each control that ran): the half-width of its interval with the seeds run, its floor and
    projections."""
    rows = []
    for arm, _, ranks, _ in finished:
        runs = {
            c: runs_by_seed([r for r in ranks if r["criterion"] == c]) for c in sorted({r["criterion"] for r in ranks})
        }
        for control in (c for c in CONTROLS if c in runs):
            for criterion in (c for c in runs if c != control and not (control == "random" and c == "none")):
                pairs, minus = paired_samples(criterion, runs[criterion], control, runs[control], None)
                widths = half_widths(pairs, minus, (len(pairs), *seeds))
                rows.append(
                    {
                        "arm": arm,
                        "paired test": f"{criterion} − {control}",
                        "seeds": len(pairs),
                        "half-width": round(widths[len(pairs)], 3),
                        "floor (architectures)": round(widths["floor"], 3),
                        **{f"at {m} seeds": round(widths[m], 3) for m in seeds},
                    }
                )
    return pd.DataFrame(rows) if rows else None


def _jobs(folder: Path, under: str = "", job: str = "*") -> list[tuple[float, bool]]:
    """(CPU seconds, resumed?) of each job named `job` benchmarked under `folder`/times/`under`: a job
    resumed after a kill counts only its last attempt (its log, which that attempt rewrote, says
    `resumed`)."""
    jobs = []
    for tsv in sorted((folder / "times" / under).rglob(f"{job}.tsv")):
        cpu = pd.read_csv(tsv, sep="\t")["cpu_time"].iloc[-1]
        log = folder / "logs" / tsv.relative_to(folder / "times").with_suffix(".log")
        jobs.append((float(cpu), log.is_file() and "resumed " in log.read_text(errors="replace")))
    return jobs


def _cost_row(arm: str, part: str, seeds: list[list[tuple[float, bool]]]) -> dict:
    per_seed = [sum(cpu for cpu, _ in jobs) for jobs in seeds if jobs]
    every = [job for jobs in seeds for job in jobs]
    return {
        "arm": arm,
        "part": part,
        "seeds": len(per_seed),
        "jobs": len(every),
        "resumed jobs": sum(resumed for _, resumed in every),
        "CPU h": round(sum(per_seed) / 3600, 2),
        "CPU s per seed (median [min, max])": (
            f"{np.median(per_seed):.0f} [{min(per_seed):.0f}, {max(per_seed):.0f}]" if per_seed else ""
        ),
    }


def cost_table(results: Path) -> pd.DataFrame | None:
    """Per arm (finished or not): each criterion's jobs and CPU time, its baselines, then each shared
    pretraining once with the arms that use it. A resumed job's time is a lower bound (`_jobs`)."""
    rows, pretrainings = [], {}
    for folder in sorted(results.glob("study-*")):
        if not (folder / "config.yaml").is_file():
            continue
        config, arm = load_config(folder / "config.yaml"), folder.name.removeprefix("study-")
        pretrainings.setdefault(_pretrained(results, config), []).append(arm)
        seeds = config["workflow"]["seeds"]
        for criterion in config["workflow"]["criteria"]:
            rows.append(_cost_row(arm, criterion, [_jobs(folder / criterion / f"s{s}") for s in seeds]))
        # an arm that does not share its pretraining keeps it beside its baselines: one row each
        rows.append(_cost_row(arm, "baselines", [_jobs(folder, f"s{s}", "baselines") for s in seeds]))
    for folder, arms in pretrainings.items():
        seeds = sorted(p.name for p in (folder / "times").glob("s*"))
        part = f"pretraining ({folder.name})"
        rows.append(_cost_row(", ".join(arms), part, [_jobs(folder, s, "pretrain") for s in seeds]))
    rows = [row for row in rows if row["jobs"]]  # an arm or criterion that has not started
    return pd.DataFrame(rows) if rows else None


def _summary(values: list[float]) -> str:
    return f"{np.mean(values):.2f} [{min(values):.2f}, {max(values):.2f}]"


def figure_curve(curve: pd.DataFrame, out: Path) -> None:
    fig, ax = new_figure(figsize=(6, 4))
    x = curve["pretrain epochs"].to_numpy()
    for label, colour in (("all", "tab:blue"), ("top50", "tab:purple")):
        y = curve[f"tau_{label}"].to_numpy(dtype=float)
        ax.errorbar(
            x,
            y,
            yerr=[
                y - curve[f"tau_{label}_lo"].to_numpy(dtype=float),
                curve[f"tau_{label}_hi"].to_numpy(dtype=float) - y,
            ],
            fmt="o-",
            capsize=3,
            color=colour,
            label=f"Kendall tau of none, {label} (95 % interval)",
        )
    ax.set_xscale("log")
    ax.set_xticks(x, [str(int(e)) for e in x])
    ax.set_xticks([], minor=True)  # the epochs' own ticks only
    ax.set_xlabel("pretraining epochs")
    ax.set_ylabel("Kendall tau with the ground truth")
    right = ax.twinx()
    right.plot(x, curve["sampled-path valid acc %"], "s--", color="tab:grey", label="sampled-path valid acc")
    right.set_ylabel("sampled-path validation accuracy (%)")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(
        lines,
        [*ax.get_legend_handles_labels()[1], *right.get_legend_handles_labels()[1]],
        fontsize=7,
        loc="lower right",
    )
    ax.set_title("Pretraining curve of the one-shot supernet")
    save_figure(fig, out)


def figure_study(numbers: pd.DataFrame, out: Path) -> None:
    """tau over all, Δτ vs none and Δτ vs random (paired) per criterion and arm, with 95 % intervals."""
    rows = numbers[numbers["kind"] == "criterion"]
    arms = list(dict.fromkeys(rows["arm"]))
    criteria = sorted(set(rows["criterion"]))
    fig, axes = new_figure(ncols=3, figsize=(16, 0.5 * len(arms) * len(criteria) / 2 + 2.5), sharey=True)
    width = 0.8 / len(criteria)
    for ax, prefix, title in (
        (axes[0], "tau_all", "Kendall tau, all architectures (dotted: baselines, ceiling)\n"),
        (axes[1], "dtau_none_all", "Δτ vs none (paired), all architectures"),
        (axes[2], "dtau_random_all", "Δτ vs random (paired), all architectures"),
    ):
        for i, criterion in enumerate(criteria):
            part = rows[rows["criterion"] == criterion].set_index("arm").reindex(arms)
            y = np.arange(len(arms)) + (i - (len(criteria) - 1) / 2) * width
            if prefix not in part or part[prefix].isna().all():
                continue
            ax.errorbar(
                part[prefix],
                y,
                xerr=[part[prefix] - part[f"{prefix}_lo"], part[f"{prefix}_hi"] - part[prefix]],
                fmt="o",
                capsize=2,
                label=criterion,
                color=f"C{i}",
            )  # one colour per criterion in both panels
        ax.set_title(title, fontsize=9)
    reference = numbers[numbers["kind"].isin(["baseline", "ceiling"])]
    for _, row in reference.iterrows():
        axes[0].axvline(row["tau_all"], ls=":", color="grey")
        axes[0].text(
            row["tau_all"],
            1.01,
            row["criterion"],
            fontsize=7,
            ha="center",
            va="bottom",
            transform=axes[0].get_xaxis_transform(),
        )
    for ax in axes[1:]:
        ax.axvline(0, color="grey", lw=0.8)
    axes[0].set_yticks(np.arange(len(arms)), [_arm_label(rows[rows["arm"] == arm]) for arm in arms], fontsize=7)
    axes[0].invert_yaxis()
    # below the panels, in one row: inside an axis it covers an arm's intervals
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="upper center",
        bbox_to_anchor=(0.5, 0),
        ncol=len(criteria),
        fontsize=8,
        frameon=False,
    )
    save_figure(fig, out)


def _arm_label(rows: pd.DataFrame) -> str:
    """An arm's name, budget and seeds (a range where its criteria ran different numbers of them)."""
    low, high = int(rows["seeds"].min()), int(rows["seeds"].max())
    seeds = f"{low} seeds" if low == high else f"{low}–{high} seeds"
    return f"{rows['arm'].iloc[0]}, {seeds}\n{rows['budget'].iloc[0]}"


def keep(results: Path, into: Path, replace: bool = False) -> list[str]:
    """Copy every study arm under `results`, and the pretraining it shares, into `into`, as the same
    tree, which `report` reads as it reads the workflow's: every file but the fine-tuned supernets'
    weights and resume checkpoints. The pretrained supernets are kept, the parents every row of a seed
    is paired on: a later half of a part, run elsewhere, reuses them instead of drawing new ones.
    Finished runs so outlive the machine that made them (results/reference/study/runs/ in the
    repository). Refuses while a Snakemake run writes into `results`, an arm whose kept runs were made
    with another config (other than in its seeds, which are joined), and a run that would replace a
    kept result with a different one (another draw: its rows would no longer pair), unless `replace`,
    which replaces each seed it ran whole; a result that differs only in its measured times and the
    checkout it ran in is the same draw (a rerun on the same machine), and the kept one stays. Returns
    the arms kept."""
    arms = sorted(f for f in results.glob("study-*") if (f / "config.yaml").is_file()) if results.is_dir() else []
    if not arms:
        raise NaslidError(
            f"{results} holds no study arm (study-<arm>/config.yaml); pass --results the results folder "
            "of the checkout that ran `scripts/study.py run`"
        )
    locks = results.parent / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        raise NaslidError(
            f"a Snakemake run is writing into {results} (its lock: {locks}); keep after it ends (the next "
            "`scripts/study.py run` clears a lock that a killed run left)"
        )
    configs = {arm: load_config(arm / "config.yaml") for arm in arms}
    sources = {}
    for arm, config in configs.items():
        _check_same_config(config, arm / "config.yaml", into / arm.name / "config.yaml")
        pretrained = _pretrained(results, config)
        if not pretrained.is_dir():
            raise NaslidError(f"{arm.name}'s pretraining {pretrained} is missing; keep from the tree that ran it")
        sources.update({arm: None, pretrained: None})  # one pass each, in order
    changed, stale = [], []  # (target, its new bytes, whether a kept file had other bytes); files to drop
    for source in sources:
        files = _kept_files(source)
        for path in files:
            if path.parent in configs and path.name == "config.yaml":
                continue  # written below, with the seeds joined
            relative = path.relative_to(results)
            target = into / relative
            if target.is_file() and not replace and (_is_run_log(relative) or _same_run(target, path)):
                continue  # kept, and the same draw: the kept results stay, with the logs of the jobs that made them
            data = path.read_bytes()
            if not target.is_file() or target.read_bytes() != data:
                changed.append((target, data, target.is_file()))
        if replace:
            stale += _stale(source, files, into / source.relative_to(results))
    if not replace:
        _check_same_results([target for target, _, replaced in changed if replaced])
    for arm, config in configs.items():
        kept = into / arm.name / "config.yaml"
        joined = sorted(
            {*(load_config(kept)["workflow"]["seeds"] if kept.is_file() else []), *config["workflow"]["seeds"]}
        )
        written = yaml.safe_load((arm / "config.yaml").read_text())
        written["workflow"]["seeds"] = joined
        text = yaml.safe_dump(written, sort_keys=False)
        if not kept.is_file() or kept.read_text() != text:
            changed.append((kept, text.encode(), False))
    for target, data, _ in changed:
        atomic_write_bytes(target, data)
    for target in stale:
        target.unlink()
    gone = f", {len(stale)} left over from the replaced run removed" if stale else ""
    print(f"study: kept {len(arms)} arm(s) in {into} ({len(changed)} file(s) new or changed{gone})")
    return [folder.name.removeprefix("study-") for folder in arms]


def _kept_files(source: Path) -> list[Path]:
    """What `keep` copies of `source`: every file but temporary ones, resume checkpoints and the
    weights of fine-tuned supernets (most of a tree's bytes; no table reads them). The pretrained
    supernets (s<seed>/pretrain/supernet.pt) stay."""
    return [
        path
        for path in sorted(source.rglob("*"))
        if path.is_file()
        and not path.name.startswith(".")
        and not path.name.endswith(".resume")
        and (path.suffix != ".pt" or path.parent.name == "pretrain")
    ]


def _stale(source: Path, files: list[Path], kept: Path) -> list[Path]:
    """Kept files under `kept` of a seed that `source` ran again but that this run no longer has (an
    extra round, another partition's sub-supernet): a replaced seed is replaced whole, so that no
    table mixes two runs. Seeds that `source` did not run stay."""
    new = {path.relative_to(source) for path in files}
    stale = []
    for target in sorted(kept.rglob("*")) if kept.is_dir() else []:
        relative = target.relative_to(kept)
        seed = next((i for i, part in enumerate(relative.parts) if re.fullmatch(r"s\d+", part)), None)
        ran_again = seed is not None and source.joinpath(*relative.parts[: seed + 1]).is_dir()
        if target.is_file() and ran_again and relative not in new:
            stale.append(target)
    return stale


# What a result records of how it was run, not what it found: the times measured, at any depth
# (never deterministic: README.md, "Reproducibility"), and a record's top-level "benchmark", the
# path of the benchmark file, which names the checkout (the ground truth read from it is in every
# estimate; a config's benchmark section is compared).
TIMINGS = {"seconds", "train_seconds"}


def _same_run(kept: Path, new: Path) -> bool:
    """Whether the file `new` is the same result as the kept file: the same bytes, or (run again on
    the same machine, bit-identical, maybe from another checkout) the same but for how it was run
    (`_findings`). A pretrained supernet is compared by its tensors and what it records, but for the
    config of whichever arm ran it, as its config.yaml is. The kept file then stays as it is."""
    old, data = kept.read_bytes(), new.read_bytes()
    if old == data:
        return True
    if kept.suffix == ".json":
        try:
            return _findings(json.loads(old)) == _findings(json.loads(data))
        except ValueError:  # not JSON (a file cut short): not the same result
            return False
    if kept.suffix == ".pt":
        try:
            before, after = load_checkpoint(kept, "supernet"), load_checkpoint(new, "supernet")
        except CheckpointError:  # cut short, or not a supernet: not the same result
            return False
        if before.keys() != after.keys():
            return False
        weights = before.get("state_dict", {}), after.get("state_dict", {})
        return (
            weights[0].keys() == weights[1].keys()
            and all(_same_tensor(weights[0][name], weights[1][name]) for name in weights[0])
            and all(_findings(before[k]) == _findings(after[k]) for k in before if k not in {"state_dict", "config"})
        )
    return False


def _same_tensor(before, after) -> bool:
    import torch

    return before.dtype == after.dtype and torch.equal(before, after)


def _findings(record, top: bool = True):
    """`record` (a JSON value) without how it was run (TIMINGS; at the top, a path in "benchmark")."""
    if isinstance(record, dict):
        return {
            key: _findings(value, top=False)
            for key, value in record.items()
            if key not in TIMINGS and not (top and key == "benchmark" and isinstance(value, str))
        }
    if isinstance(record, list):
        return [_findings(value, top=False) for value in record]
    return record


def _is_run_log(relative: Path) -> bool:
    """Whether a kept file (its path in the tree) records how a job ran (its log, its times, the
    config of whichever arm ran a shared pretraining) rather than what it found."""
    return relative.name == "config.yaml" or bool({"logs", "times"} & set(relative.parts))


def _check_same_results(replaced: list[Path]) -> None:
    """Refuse to replace a kept result with another draw's."""
    if replaced:
        raise NaslidError(
            f"{len(replaced)} kept result(s) differ from this run's, e.g. {replaced[0]}: another run of the "
            "same arm and seed (another pretraining draw, machine or code), whose rows would not pair with "
            "the kept ones; keep it in another folder (--into), or pass --replace to keep it instead"
        )


def _check_same_config(config: dict, new: Path, kept: Path) -> None:
    """Refuse an arm (`config`, read from `new`) whose kept runs were made with another config."""
    if not kept.is_file():
        return
    before, after = dict(flat_items(load_config(kept))), dict(flat_items(config))
    differing = sorted(k for k in {*before, *after} if k != "workflow.seeds" and before.get(k) != after.get(k))
    if differing:
        changes = "; ".join(f"{k}: {before.get(k)!r} kept, {after.get(k)!r} here" for k in differing)
        raise NaslidError(
            f"{kept.parent} holds runs made with another config ({changes}); keep these runs in another "
            "folder (--into) or move the old ones aside"
        )


def report(results: Path, out: Path) -> None:
    """Every table and figure of the study that its finished arms under `results` allow, into `out`."""
    if not results.is_dir():
        raise NaslidError(f"{results} is not a folder; pass the results tree of the workflow or of `keep`")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    curve = curve_table(results, list(CURVE_ARMS))
    if curve is not None:
        cells = curve[["pretrain epochs", "seeds"]].copy()
        for label, heading in (("all", "all"), ("top50", "top-50")):
            cells[f"τ none {heading}"] = [interval_cell(row, f"tau_{label}") for _, row in curve.iterrows()]
        cells["Δτ all vs the budget before"] = [
            interval_cell(row, "dtau_before", signed=True) for _, row in curve.iterrows()
        ]
        cells["sampled-path valid acc %"] = [
            f"{a:.1f} ± {s:.1f}" for a, s in zip(curve["sampled-path valid acc %"], curve["valid acc std"])
        ]
        write_table(cells, out / "curve", numbers=curve)
        figure_curve(curve, out / "fig_curve.png")
        written.append("curve")
    finished = _finished(results, BUDGET_ARMS)  # every rank file read once
    study = study_table(results, finished)
    if study is not None:
        write_table(study[1], out / "study", numbers=study[0])
        figure_study(study[0], out / "fig_study.png")
        written.append("study")
    stability = stability_table(results)
    if stability is not None:
        write_table(stability, out / "stability")
        written.append("stability")
    precision = precision_table(finished)
    if precision is not None:
        write_table(precision, out / "precision")
        written.append("precision")
    cost = cost_table(results)
    if cost is not None and written:
        write_table(cost, out / "cost")
        written.append("cost")
    if not written:
        raise NaslidError(f"no arm of the study has finished under {results}; run `scripts/study.py run curve` first")
    print(f"study: wrote {', '.join(written)} to {out}")
