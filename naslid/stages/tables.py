"""The paper's tables and figures from a results tree: `naslid tables`.

    naslid tables --config config/config.yaml --results results/default

Reads `<results>/<criterion>/s<seed>/{rank,query,evolve}.json`, the first split and its profiles,
`<results>/s<seed>/baselines.json` and `<results>/cost.json`, and writes to `<results>/tables/`:
- table1: peak memory and time of profiling one edge, GM-NAS vs NAS-LID, per input size;
- table2: Kendall tau and Spearman rho over all ranked architectures and among the top-k, mean ± std
  over seeds with 95 % bootstrap intervals (`naslid.method.stats`), and the paired Δτ vs `none`, per
  criterion; then the baselines (params, flops, naswot) and the ground truth's ceiling;
- table3: the best searched architecture's benchmark (and reference) accuracies per criterion, with
  a 95 % interval over seeds;
- table5: Euclidean vs Pearson LID similarity (criteria lid and lid-pearson) and their paired Δτ;
- table4 instead of 2, 3 and 5 when there is no benchmark (`benchmark.kind: none`, e.g. the ProxylessNAS
  space): the searched architecture trained from scratch (`trained.json`), its top-1 error, FLOPs,
  parameters and estimated latency per criterion;
each as .md, .csv and .tex; and to `<results>/figures/`: fig1 (layer-wise LID of each op), fig4
(separability per edge at the first split, LID vs gradient, log scale), fig5 (evolution curves), and
fig_table2 (Table 2's tau over all architectures with its interval, per row).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from naslid.errors import NaslidError
from naslid.io import atomic_write_bytes, atomic_write_text, load_json
from naslid.method.criteria import training_epochs
from naslid.method.profile import read_profiles
from naslid.method.stats import LEVEL, best, bootstrap, seed_interval
from naslid.stages import Arg, Stage

STAGE = Stage(
    "tables",
    "the paper's tables (2, 3, 5) and figures (1, 4, 5, Table 2's) from a results tree",
    reads=("train", "finetune", "split", "space", "benchmark", "rank"),  # Table 2's budget (split shape: space) and k
    inputs=(Arg("--results", "results directory of one config (results/<name>)"),),
)

REFERENCE_COLUMNS = ("cifar10_valid", "cifar10_test", "cifar100_test", "imagenet16_test")


def read_experiments(results: Path, kind: str) -> list[dict]:
    """Every `<criterion>/s<seed>/<kind>.json` under `results`, loaded."""
    records = []
    for path in sorted(results.glob(f"*/s*/{kind}.json")):
        try:
            records.append(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise NaslidError(f"{path} is not valid JSON ({err}); rerun the stage that writes it") from None
    return records


def _mean_std(values) -> str:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "n/a"
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def _seed_interval(values) -> str:
    interval = seed_interval(values)
    return "n/a (one seed)" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def table1(cost: dict) -> pd.DataFrame:
    """Peak memory and time of profiling one edge, per input size: GM-NAS vs NAS-LID."""
    rows = []
    for size in sorted({r["input_size"] for r in cost["rows"]}):
        lid, grad = (
            next(r for r in cost["rows"] if r["criterion"] == c and r["input_size"] == size)
            for c in ("lid", "gradient")
        )
        rows.append(
            {
                "input": f"{size}x{size}",
                "GM-NAS peak MB": round(grad["peak_mb"], 1),
                "NAS-LID peak MB": round(lid["peak_mb"], 1),
                "memory LID/GM": round(lid["peak_mb"] / grad["peak_mb"], 3) if grad["peak_mb"] else None,
                "GM-NAS s": round(grad["seconds"], 2),
                "NAS-LID s": round(lid["seconds"], 2),
                "time LID/GM": round(lid["seconds"] / grad["seconds"], 3),
                "device": f"{cost['machine']}, R={cost['batches']} x {cost['batch_size']}",
            }
        )
    return pd.DataFrame(rows)


def table2(ranks: list[dict], config: dict, baselines: list[dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ranking correlation per criterion, baseline and ceiling: (numbers for the CSV, cells to read).

    Every cell is the mean over seeds [95 % bootstrap interval] (± std over seeds with several);
    `Δτ vs none` (and `vs random`, when the random split ran) is each row's tau minus that control's on
    the same resampled architectures (`naslid.method.stats.bootstrap`), a `*` marking a difference
    that Holm's correction over every paired test of the table still calls significant at 5 %.
    Baselines that rank every architecture identically (params and FLOPs on NB201, where only
    convolutions carry weights) share one row. Then the benchmark's own rows: the agreement of its two
    trainings (`seed vs seed`), and the `ceiling`, what a perfect estimate of each architecture's
    expected accuracy would score (`naslid.method.stats.ceiling`).
    """
    ks = [None, *config["rank"]["top_k"]]
    controls = {c: runs_by_seed([r for r in ranks if r["criterion"] == c]) for c in ("none", "random")}
    controls = {c: runs for c, runs in controls.items() if runs}
    rows = []
    for criterion in sorted({r["criterion"] for r in ranks}):
        epochs = training_epochs(criterion, config)
        rows.append(
            _correlation_row(
                criterion,
                "criterion",
                runs_by_seed([r for r in ranks if r["criterion"] == criterion]),
                ks,
                {c: runs for c, runs in controls.items() if c != criterion},
                f"{epochs['pretrain']} + {epochs['fine-tune']}",
            )
        )
    for names, description in _distinct_baselines(baselines or []):
        runs = runs_by_seed([{"seed": b["seed"], "estimates": _baseline(b, names[0])} for b in baselines])
        rows.append(
            {
                **_correlation_row(" = ".join(names), "baseline", runs, ks, controls, "0 (no training)"),
                "note": description,
            }
        )
    if baselines:
        rows += _benchmark_rows(baselines[0]["ceiling"], ks)  # the benchmark's, the same for every seed
    numbers = holm_marks(pd.DataFrame(rows))
    return numbers, _cells(numbers, ks, [*controls], _ties(ranks, ks))


def _distinct_baselines(baselines: list[dict]) -> list[tuple[list[str], str]]:
    """The baselines, those that rank every architecture identically in every seed merged into one:
    ([names], description)."""
    from naslid.method.stats import _signs

    groups: list[tuple[list[str], str]] = []
    for entry in baselines[0]["baselines"] if baselines else []:
        name = entry["baseline"]
        for names, _ in groups:
            if all(
                np.array_equal(
                    _signs(np.array([e["estimate"] for e in _baseline(b, names[0])])),
                    _signs(np.array([e["estimate"] for e in _baseline(b, name)])),
                )
                for b in baselines
            ):
                names.append(name)
                break
        else:
            groups.append(([name], entry["description"]))
    return [
        (
            names,
            description
            if len(names) == 1
            else f"{' and '.join(names)} rank every architecture identically here, so they are one baseline "
            f"({description})",
        )
        for names, description in groups
    ]


def _ties(ranks: list[dict], ks: list) -> dict:
    """{k: (architectures in the top-k set, how many tie at its cut)} of the ground truth ranked."""
    from naslid.method.stats import tied_at_cut

    truth = np.array([e["ground_truth"] for e in ranks[0]["estimates"]], dtype=float) if ranks else np.array([])
    return {k: (len(best(truth, k)), tied_at_cut(truth, k)) for k in ks if k is None or k <= len(truth)}


def holm_marks(numbers: pd.DataFrame) -> pd.DataFrame:
    """`<prefix>_holm`: whether Holm's step-down procedure rejects "no difference" for each paired
    difference of the table, over all of them (one family: every row, control and set of architectures)."""
    from naslid.method.stats import holm

    tests = {
        (i, column[:-2]): p
        for column in numbers.columns
        if column.startswith("dtau_") and column.endswith("_p")
        for i, p in numbers[column].items()
        if pd.notna(p)
    }
    rejected = holm(tests)
    for column in dict.fromkeys(c for _, c in tests):  # in the table's column order: a set's order changes per process
        numbers[f"{column}_holm"] = [(i, column) in rejected for i in numbers.index]
    return numbers


def _baseline(result: dict, name: str) -> list[dict]:
    for entry in result["baselines"]:
        if entry["baseline"] == name:
            return entry["estimates"]
    raise NaslidError(f"baselines of seed {result['seed']} lack {name!r}; rerun `naslid baselines` for every seed")


def runs_by_seed(records: list[dict]) -> dict[int, list[dict]]:
    """seed -> the per-architecture estimates of one criterion (or baseline)."""
    return {r["seed"]: r["estimates"] for r in sorted(records, key=lambda r: r["seed"])}


def _pairs(runs: dict[int, list[dict]], k: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per seed, (what is ranked against, the estimate) over the k best architectures by ground truth."""
    out = []
    for estimates in runs.values():
        truth = np.array([e["ground_truth"] for e in estimates], dtype=float)
        versus = np.array([e.get("versus", e["ground_truth"]) for e in estimates], dtype=float)
        index = np.sort(best(truth, k))  # in file order, so a resample draws the rows scipy's bootstrap would
        out.append((versus[index], np.array([e["estimate"] for e in estimates], dtype=float)[index]))
    return out


def _label(k: int | None) -> str:
    """The CSV's name of a set of architectures: all, top50, ..."""
    return "all" if k is None else f"top{k}"


def _heading(k: int | None) -> str:
    """The readable tables' name of the same: all, top-50, ..."""
    return "all" if k is None else f"top-{k}"


def _correlation_row(name: str, kind: str, runs: dict, ks: list, controls: dict, epochs: str) -> dict:
    n = len(next(iter(runs.values())))
    row = {"criterion": name, "kind": kind, "seeds": len(runs), "epochs": epochs, "note": ""}
    for k in ks:
        if k is not None and k > n:
            continue  # fewer architectures than k: the cell says n/a
        for statistic in ("tau", "rho"):
            row.update(_prefixed(f"{statistic}_{_label(k)}", bootstrap(_pairs(runs, k), statistic)))
        for control, control_runs in controls.items():
            if k in ks[:2]:
                row.update(
                    _prefixed(f"dtau_{control}_{_label(k)}", _paired_difference(name, runs, control, control_runs, k))
                )
    return row


def _paired_difference(name: str, runs: dict, other: str, other_runs: dict, k: int | None) -> dict:
    """tau of `name` minus tau of `other`, seed s paired with seed s, on the same resampled architectures."""
    pairs, minus = paired_samples(name, runs, other, other_runs, k)
    return bootstrap(pairs, "tau", minus=minus)


def paired_samples(name: str, runs: dict, other: str, other_runs: dict, k: int | None) -> tuple[list, list]:
    """What a paired difference compares: per seed that both ran, (ground truth, estimate) of `name`
    and of `other` over the k best architectures (`runs`: seed -> estimates, as `runs_by_seed`)."""
    seeds = sorted(set(runs) & set(other_runs))
    if not seeds:
        raise NaslidError(f"{name} and {other} share no seed to pair; run both with the same workflow.seeds")
    if any([e["index"] for e in runs[s]] != [e["index"] for e in other_runs[s]] for s in seeds):
        raise NaslidError(
            f"{name} and {other} ranked different architectures; rerun `naslid rank` (and "
            f"`naslid baselines`) of both with the same benchmark and rank.percent"
        )
    return _pairs({s: runs[s] for s in seeds}, k), _pairs({s: other_runs[s] for s in seeds}, k)


def _benchmark_rows(top: dict, ks: list) -> list[dict]:
    """The benchmark's rows: its two trainings against each other, and the perfect estimate's ceiling."""
    from naslid.method.stats import ceiling

    if top["estimates"] is None:
        return [{"criterion": "ceiling", "kind": "ceiling", "seeds": "", "epochs": "", "note": f"n/a: {top['reason']}"}]
    first = np.array([e["versus"] for e in top["estimates"]], dtype=float)
    second = np.array([e["estimate"] for e in top["estimates"]], dtype=float)
    truth = np.array([e["ground_truth"] for e in top["estimates"]], dtype=float)
    made = "mean" if np.allclose(truth, (first + second) / 2, atol=1e-6) else "second"
    agreement = {
        **_correlation_row("seed vs seed", "benchmark", {0: top["estimates"]}, ks, {}, ""),
        "seeds": "",
        "note": f"{top['description']} ({' vs '.join(top['columns'])}): how two trainings agree, not a ceiling",
    }
    row = {
        "criterion": "ceiling",
        "kind": "ceiling",
        "seeds": "",
        "epochs": "",
        "note": f"a perfect estimate of each architecture's expected accuracy against the ground truth (the "
        f"{'mean of the two trainings' if made == 'mean' else 'second training'}): parametric bootstrap from "
        f"the benchmark's seed differences, bias-corrected (naslid/method/stats.py; over the top-k an "
        f"overestimate, by about 0.09 on synthetic benchmarks)",
    }
    n = len(truth)
    for k, result in ceiling(first, second, made, [k for k in ks if k is None or k <= n]).items():
        row.update(_prefixed(f"tau_{_label(k)}", {**result, "std": None}))
    return [agreement, row]


def _prefixed(prefix: str, result: dict) -> dict:
    out = {
        prefix: result["mean"],
        f"{prefix}_std": result["std"],
        f"{prefix}_lo": result["lo"],
        f"{prefix}_hi": result["hi"],
        f"{prefix}_n": result["n"],
    }
    return {**out, f"{prefix}_p": result["p"]} if "p" in result else out


def _cells(numbers: pd.DataFrame, ks: list, controls: list[str], ties: dict) -> pd.DataFrame:
    """The numeric table as one readable cell per quantity: mean (± std) [lo, hi], a heading saying
    how many architectures a top-k holds when some tie at its cut."""
    table = numbers[["criterion", "kind", "seeds", "epochs", "note"]].rename(
        columns={"epochs": "epochs (pretrain + fine-tune)"}
    )
    for k in ks:
        size, tied = ties.get(k, (None, 1))
        suffix = f" ({size}: {tied} tied at the cut)" if tied > 1 else ""
        for statistic, symbol in (("tau", "τ"), ("rho", "ρ")):
            table[f"{symbol} {_heading(k)}{suffix}"] = [
                interval_cell(row, f"{statistic}_{_label(k)}") for _, row in numbers.iterrows()
            ]
    for control in controls:
        for k in ks[:2]:
            table[f"Δτ vs {control} {_heading(k)}"] = [
                interval_cell(row, f"dtau_{control}_{_label(k)}", signed=True) for _, row in numbers.iterrows()
            ]
    return table


def interval_cell(row: pd.Series, prefix: str, signed: bool = False) -> str:
    if prefix not in row or pd.isna(row[prefix]):
        return "n/a"
    sign = "+" if signed else ""
    spread = f" ± {row[f'{prefix}_std']:.3f}" if pd.notna(row.get(f"{prefix}_std")) else ""
    flag = row.get(f"{prefix}_holm")
    mark = " *" if signed and isinstance(flag, (bool, np.bool_)) and flag else ""
    return f"{row[prefix]:{sign}.3f}{spread} [{row[f'{prefix}_lo']:{sign}.3f}, {row[f'{prefix}_hi']:{sign}.3f}]{mark}"


def _arch_row(label: str, seeds, rows: list[dict], truth: str) -> dict:
    """One line of Table 3: an architecture's (mean ± std over seeds) estimate and benchmark values."""
    valid = truth.replace("_test", "_valid")
    scores = [r["supernet_score"] for r in rows if "supernet_score" in r]
    return {
        "criterion": label,
        "seeds": seeds,
        "best arch (seed of first run)": rows[0]["arch"],
        "supernet valid": _mean_std(scores) if scores else "",
        valid: _mean_std([r["benchmark"].get(valid) for r in rows]),
        truth: _mean_std([r["benchmark"].get(truth) for r in rows]),
        f"{truth} 95% CI over seeds": _seed_interval([r["benchmark"].get(truth) for r in rows]),
        **{f"NB201 {c}": _mean_std([(r.get("reference") or {}).get(c) for r in rows]) for c in REFERENCE_COLUMNS},
    }


def table3(queries: list[dict]) -> pd.DataFrame:
    truth = queries[0]["ground_truth"]
    rows = []
    for criterion in sorted({q["criterion"] for q in queries}):
        runs = [q for q in queries if q["criterion"] == criterion]
        best = [next(r for r in q["rows"] if r["role"] == "searched #1") for q in runs]
        rows.append(_arch_row(criterion, len(runs), best, truth))
    optimum = next((r for r in queries[0]["rows"] if r["role"].startswith("benchmark optimum")), None)
    if optimum is not None:
        rows.append(_arch_row("optimum of the benchmark", "", [optimum], truth))
    return pd.DataFrame(rows)


def table4(finals: list[dict], evolves: list[dict]) -> pd.DataFrame:
    """The searched architecture of each criterion trained from scratch: top-1 error (mean ± std over
    seeds), FLOPs, parameters and latency estimate of the first seed's architecture."""
    latency = {(e["criterion"], e["seed"]): e["best"][0].get("latency_ms") for e in evolves}
    rows = []
    for criterion in sorted({f["criterion"] for f in finals}):
        runs = sorted((f for f in finals if f["criterion"] == criterion), key=lambda f: f["seed"])
        first = runs[0]
        rows.append(
            {
                "criterion": criterion,
                "seeds": len(runs),
                "top-1 test error %": _mean_std([f["test_error"] for f in runs]),
                "valid acc %": _mean_std([f["valid_acc"] for f in runs]),
                "arch (first seed)": first["arch"],
                "FLOPs M": round(first["flops_m"], 3),
                "params M": round(first["params_mb"], 4),
                "latency ms (estimate)": latency.get((criterion, first["seed"])),
                "train-final s": _mean_std([f["train_seconds"] for f in runs]),
            }
        )
    return pd.DataFrame(rows)


def table5(t2: pd.DataFrame, t3: pd.DataFrame, ranks: list[dict], config: dict) -> pd.DataFrame:
    """Euclidean (lid) vs Pearson (lid-pearson): ranking correlation and the best architecture found, and
    the paired difference of their taus (Pearson minus Euclidean) with its 95 % interval."""
    keep = ["lid", "lid-pearson"]
    left = t2[t2["criterion"].isin(keep)].copy()
    right = t3[t3["criterion"].isin(keep)].drop(columns=["seeds"])
    left.insert(1, "similarity", left["criterion"].map({"lid": "Euclidean (Eq. 5)", "lid-pearson": "Pearson"}))
    table = left.merge(right, on="criterion", how="left")
    runs = {c: runs_by_seed([r for r in ranks if r["criterion"] == c]) for c in keep}
    if all(runs.values()):
        difference = {"criterion": "lid-pearson − lid", "similarity": "Pearson − Euclidean (paired)"}
        for k in [None, *config["rank"]["top_k"]][:2]:
            result = _prefixed("d", _paired_difference("lid-pearson", runs["lid-pearson"], "lid", runs["lid"], k))
            numbers = pd.Series(
                {**result, "d_holm": result["d_p"] <= 1 - LEVEL}, dtype=object
            )  # one test: nothing to correct
            heading = next(c for c in t2.columns if c == f"τ {_heading(k)}" or c.startswith(f"τ {_heading(k)} ("))
            difference[heading] = interval_cell(numbers, "d", signed=True)
        table = pd.concat([table.astype(object), pd.DataFrame([difference], dtype=object)], ignore_index=True).fillna(
            ""
        )
    return table


def write_table(table: pd.DataFrame, stem: Path, numbers: pd.DataFrame | None = None) -> None:
    """The table as markdown and LaTeX; as CSV too, or `numbers` instead (one numeric column per quantity)."""
    # A "|" in a cell (architecture strings, log|det K|) would end the cell in markdown: escaped.
    escaped = table.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v)
    atomic_write_text(stem.with_suffix(".md"), escaped.to_markdown(index=False) + "\n")
    atomic_write_text(stem.with_suffix(".csv"), (table if numbers is None else numbers).to_csv(index=False))
    atomic_write_text(stem.with_suffix(".tex"), table.to_latex(index=False, escape=True))


def new_figure(**kwargs):
    """A new figure and its axes, drawn to files only. matplotlib (0.6 s to import) is imported here:
    the workflow imports this module for `outputs` at every Snakemake start."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt.subplots(**kwargs)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def figure1(results: Path, out: Path) -> None:
    """Layer-wise LID of each op at the root, averaged over edges and batches (first seed of lid)."""
    paths = sorted((results / "lid").glob("s*/profile/r/edge*.csv"))
    fig, ax = new_figure(figsize=(6, 4))
    if paths:
        seed_dir = paths[0].parents[2]
        table = read_profiles(sorted(seed_dir.glob("profile/r/edge*.csv")))
        curves = table.groupby(["op", "layer"])["lid"].mean().unstack("layer")
        for op, values in curves.iterrows():
            ax.plot(values.index, values.to_numpy(), marker="o", label=op)
        ax.set_title(f"Layer-wise LID per op ({seed_dir.name}, root supernet)")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "criterion lid not run", ha="center")
    ax.set_xlabel("profiled layer (NB201: cells and reduction blocks; ProxylessNAS: searchable layers)")
    ax.set_ylabel("LID (MLE, k nearest neighbours)")
    save_figure(fig, out)


def figure4(results: Path, out: Path) -> None:
    """Separability of every edge at the first split: LID vs gradient, log scale, mean over seeds."""
    fig, ax = new_figure(figsize=(7, 4))
    width, plotted = 0.38, 0
    for shift, criterion in ((-width / 2, "lid"), (width / 2, "gradient")):
        splits = [json.loads(p.read_text()) for p in sorted((results / criterion).glob("s*/split/r.json"))]
        if not splits:
            continue
        edges = list(splits[0]["candidates"])
        values = [np.mean([s["candidates"][e]["separability"] for s in splits]) for e in edges]
        ax.bar(np.arange(len(edges)) + shift, values, width, label=criterion)
        ax.set_xticks(np.arange(len(edges)), edges)
        plotted += 1
    if plotted:
        ax.set_yscale("log")
        ax.legend()
    ax.set_xlabel("edge")
    ax.set_ylabel("separability (dispersion of op similarities)")
    ax.set_title("Separability per edge at the first split")
    save_figure(fig, out)


def figure5(evolves: list[dict], out: Path) -> None:
    """Per generation: mean ± std and max of the population's estimated accuracy, per criterion (first seed)."""
    fig, ax = new_figure(figsize=(7, 4))
    for criterion in sorted({e["criterion"] for e in evolves}):
        run = min((e for e in evolves if e["criterion"] == criterion), key=lambda e: e["seed"])
        g = np.array([x["generation"] for x in run["generations"]])
        mean = np.array([x["mean"] for x in run["generations"]])
        std = np.array([x["std"] for x in run["generations"]])
        (line,) = ax.plot(g, mean, label=f"{criterion} mean")
        ax.fill_between(g, mean - std, mean + std, color=line.get_color(), alpha=0.15)
        ax.plot(g, [x["max"] for x in run["generations"]], "--", color=line.get_color(), label=f"{criterion} max")
    ax.set_xlabel("generation")
    ax.set_ylabel("supernet-estimated validation accuracy (%)")
    ax.set_title("Evolutionary search")
    if evolves:
        ax.legend(fontsize=7, ncol=2)
    else:
        ax.text(0.5, 0.5, "no search has run", ha="center")
    save_figure(fig, out)


def read_baselines(results: Path) -> list[dict]:
    """Every `<results>/s<seed>/baselines.json` (`naslid baselines`), by seed."""
    paths = sorted(results.glob("s*/baselines.json"))
    if not paths:
        raise NaslidError(
            f"{results} holds no s<seed>/baselines.json; run `naslid baselines` (the workflow's baselines rule) first"
        )
    return [load_json(p, "baselines result") for p in paths]


def figure_table2(numbers: pd.DataFrame, out: Path) -> None:
    """Table 2's tau over every ranked architecture with its 95 % interval: criteria, baselines, ceiling."""
    fig, ax = new_figure(figsize=(7, 0.35 * len(numbers) + 1.2))
    colours = {"criterion": "tab:blue", "baseline": "tab:orange", "ceiling": "tab:green"}
    y = np.arange(len(numbers))[::-1]
    for kind, colour in colours.items():
        rows = numbers["kind"] == kind
        if rows.any() and "tau_all" in numbers:
            part = numbers[rows]
            ax.errorbar(
                part["tau_all"],
                y[rows.to_numpy()],
                fmt="o",
                color=colour,
                label=kind,
                capsize=3,
                xerr=[part["tau_all"] - part["tau_all_lo"], part["tau_all_hi"] - part["tau_all"]],
            )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, numbers["criterion"])
    ax.set_xlabel("Kendall tau with the ground truth, all ranked architectures (95 % bootstrap interval)")
    ax.set_title("Table 2: ranking correlation")
    ax.legend(fontsize=8)
    save_figure(fig, out)


def outputs(config: dict) -> tuple[list[int], list[str]]:
    """(table numbers, figure names) that `run` writes for this config: the workflow's targets."""
    if config["benchmark"]["kind"] == "none":
        return [1, 4], ["fig1", "fig4", "fig5"]
    return [1, 2, 3, 5], ["fig1", "fig4", "fig5", "fig_table2"]


def run(config: dict, inputs, outputs) -> None:
    tables(inputs.results, config)


def tables(results: Path, config: dict) -> None:
    without_benchmark = config["benchmark"]["kind"] == "none"
    kinds = ("trained", "evolve") if without_benchmark else ("rank", "query", "evolve")
    loaded = {kind: read_experiments(results, kind) for kind in kinds}
    if not all(loaded.values()):
        raise NaslidError(f"{results} holds no {'/'.join(kinds)} results; run the workflow first")
    cost = results / "cost.json"
    if not cost.is_file():
        raise NaslidError(f"{cost} is missing; run `naslid cost` (the workflow's cost rule) first")
    write_table(table1(json.loads(cost.read_text())), results / "tables" / "table1")
    evolves = loaded["evolve"]
    if without_benchmark:
        write_table(table4(loaded["trained"], evolves), results / "tables" / "table4")
    else:
        t2_numbers, t2 = table2(loaded["rank"], config, read_baselines(results))
        t3 = table3(loaded["query"])
        write_table(t2, results / "tables" / "table2", numbers=t2_numbers)
        figure_table2(t2_numbers, results / "figures" / "fig_table2.png")
        write_table(t3, results / "tables" / "table3")
        write_table(table5(t2, t3, loaded["rank"], config), results / "tables" / "table5")
    figure1(results, results / "figures" / "fig1.png")
    figure4(results, results / "figures" / "fig4.png")
    figure5(evolves, results / "figures" / "fig5.png")
