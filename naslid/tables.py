"""The paper's tables and figures from a results tree: `naslid tables`.

    naslid tables --config config/config.yaml --results results/default

Reads `<results>/<criterion>/s<seed>/{rank,query,evolve}.json`, the first split and its profiles,
and `<results>/cost.json`, and writes to `<results>/tables/`:
- table1: peak memory and time of characterising one edge, GM-NAS vs NAS-LID, per input size;
- table2: Kendall tau and Spearman rho among the top-k, mean ± std over seeds, per criterion;
- table3: the best searched architecture's benchmark (and reference) accuracies per criterion;
- table5: Euclidean vs Pearson LID similarity (criteria lid and lid-pearson);
- table4 instead of 2, 3 and 5 when there is no benchmark (`benchmark.kind: none`, e.g. the ProxylessNAS
  space): the searched architecture trained from scratch (`final.json`), its top-1 error, FLOPs,
  parameters and estimated latency per criterion;
each as .md, .csv and .tex; and to `<results>/figures/`: fig1 (layer-wise LID of each op), fig4
(separability per edge at the first split, LID vs gradient, log scale), fig5 (evolution curves).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from naslid.errors import NaslidError  # noqa: E402
from naslid.io import atomic_write_bytes, atomic_write_text  # noqa: E402
from naslid.criteria import training_epochs  # noqa: E402
from naslid.profile import read_profiles  # noqa: E402

REFERENCE_COLUMNS = ("cifar10_valid", "cifar10_test", "cifar100_test", "imagenet16_test")


def _experiments(results: Path, kind: str) -> list[dict]:
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


def table1(cost: dict) -> pd.DataFrame:
    """Peak memory and time of characterising one edge, per input size: GM-NAS vs NAS-LID."""
    rows = []
    for size in sorted({r["input_size"] for r in cost["rows"]}):
        lid, grad = (next(r for r in cost["rows"] if r["criterion"] == c and r["input_size"] == size) for c in ("lid", "gradient"))
        rows.append({"input": f"{size}x{size}", "GM-NAS peak MB": round(grad["peak_mb"], 1), "NAS-LID peak MB": round(lid["peak_mb"], 1),
                     "memory LID/GM": round(lid["peak_mb"] / grad["peak_mb"], 3) if grad["peak_mb"] else None,
                     "GM-NAS s": round(grad["seconds"], 2), "NAS-LID s": round(lid["seconds"], 2),
                     "time LID/GM": round(lid["seconds"] / grad["seconds"], 3),
                     "device": f"{cost['machine']}, R={cost['batches']} x {cost['batch_size']}"})
    return pd.DataFrame(rows)


def table2(ranks: list[dict], config: dict) -> pd.DataFrame:
    rows = []
    for criterion in sorted({r["criterion"] for r in ranks}):
        runs = [r for r in ranks if r["criterion"] == criterion]
        epochs = training_epochs(criterion, config)
        row = {"criterion": criterion, "seeds": len(runs), "epochs (pretrain + fine-tune)":
               f"{epochs['pretrain']} + {epochs['fine-tune']}"}
        for k in [c["top_k"] for c in runs[0]["correlations"]]:
            for stat, label in (("kendall_tau", "Kendall"), ("spearman_rho", "Spearman")):
                row[f"{label} top-{k}"] = _mean_std([c[stat] for r in runs for c in r["correlations"] if c["top_k"] == k])
        rows.append(row)
    return pd.DataFrame(rows)


def _arch_row(label: str, seeds, rows: list[dict], truth: str) -> dict:
    """One line of Table 3: an architecture's (mean ± std over seeds) estimate and benchmark values."""
    valid = truth.replace("_test", "_valid")
    scores = [r["supernet_score"] for r in rows if "supernet_score" in r]
    return {"criterion": label, "seeds": seeds, "best arch (seed of first run)": rows[0]["arch"],
            "supernet valid": _mean_std(scores) if scores else "",
            valid: _mean_std([r["benchmark"].get(valid) for r in rows]),
            truth: _mean_std([r["benchmark"].get(truth) for r in rows]),
            **{f"NB201 {c}": _mean_std([(r.get("reference") or {}).get(c) for r in rows]) for c in REFERENCE_COLUMNS}}


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
        rows.append({"criterion": criterion, "seeds": len(runs), "top-1 test error %": _mean_std([f["test_error"] for f in runs]),
                     "valid acc %": _mean_std([f["valid_acc"] for f in runs]), "arch (first seed)": first["arch"],
                     "FLOPs M": round(first["flops_m"], 3), "params M": round(first["params_mb"], 4),
                     "latency ms (estimate)": latency.get((criterion, first["seed"])),
                     "train-final s": _mean_std([f["train_seconds"] for f in runs])})
    return pd.DataFrame(rows)


def table5(t2: pd.DataFrame, t3: pd.DataFrame) -> pd.DataFrame:
    """Euclidean (lid) vs Pearson (lid-pearson): ranking correlation and the best architecture found."""
    keep = ["lid", "lid-pearson"]
    left = t2[t2["criterion"].isin(keep)].copy()
    right = t3[t3["criterion"].isin(keep)].drop(columns=["seeds"])
    left.insert(1, "similarity", left["criterion"].map({"lid": "Euclidean (Eq. 5)", "lid-pearson": "Pearson"}))
    return left.merge(right, on="criterion", how="left")


def write_table(table: pd.DataFrame, stem: Path) -> None:
    atomic_write_text(stem.with_suffix(".md"), table.to_markdown(index=False) + "\n")
    atomic_write_text(stem.with_suffix(".csv"), table.to_csv(index=False))
    atomic_write_text(stem.with_suffix(".tex"), table.to_latex(index=False, escape=True))


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def figure1(results: Path, out: Path) -> None:
    """Layer-wise LID of each op at the root, averaged over edges and batches (first seed of lid)."""
    paths = sorted((results / "lid").glob("s*/profile/r/edge*.csv"))
    fig, ax = plt.subplots(figsize=(6, 4))
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
    _save(fig, out)


def figure4(results: Path, out: Path) -> None:
    """Separability of every edge at the first split: LID vs gradient, log scale, mean over seeds."""
    fig, ax = plt.subplots(figsize=(7, 4))
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
    _save(fig, out)


def figure5(evolves: list[dict], out: Path) -> None:
    """Per generation: mean ± std and max of the population's estimated accuracy, per criterion (first seed)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for criterion in sorted({e["criterion"] for e in evolves}):
        run = min((e for e in evolves if e["criterion"] == criterion), key=lambda e: e["seed"])
        g = np.array([x["generation"] for x in run["generations"]])
        mean = np.array([x["mean"] for x in run["generations"]])
        std = np.array([x["std"] for x in run["generations"]])
        line, = ax.plot(g, mean, label=f"{criterion} mean")
        ax.fill_between(g, mean - std, mean + std, color=line.get_color(), alpha=0.15)
        ax.plot(g, [x["max"] for x in run["generations"]], "--", color=line.get_color(), label=f"{criterion} max")
    ax.set_xlabel("generation")
    ax.set_ylabel("supernet-estimated validation accuracy (%)")
    ax.set_title("Evolutionary search")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, out)


def outputs(config: dict) -> tuple[list[int], list[int]]:
    """(tables, figures) that `run` writes for this config: the workflow's targets."""
    return ([1, 4] if config["benchmark"]["kind"] == "none" else [1, 2, 3, 5]), [1, 4, 5]


def run(results: Path, config: dict) -> None:
    without_benchmark = config["benchmark"]["kind"] == "none"
    kinds = ("final", "evolve") if without_benchmark else ("rank", "query", "evolve")
    loaded = {kind: _experiments(results, kind) for kind in kinds}
    if not all(loaded.values()):
        raise NaslidError(f"{results} holds no {'/'.join(kinds)} results; run the workflow first")
    cost = results / "cost.json"
    if not cost.is_file():
        raise NaslidError(f"{cost} is missing; run `naslid cost` (the workflow's cost rule) first")
    write_table(table1(json.loads(cost.read_text())), results / "tables" / "table1")
    evolves = loaded["evolve"]
    if without_benchmark:
        write_table(table4(loaded["final"], evolves), results / "tables" / "table4")
    else:
        t2, t3 = table2(loaded["rank"], config), table3(loaded["query"])
        write_table(t2, results / "tables" / "table2")
        write_table(t3, results / "tables" / "table3")
        write_table(table5(t2, t3), results / "tables" / "table5")
    figure1(results, results / "figures" / "fig1.png")
    figure4(results, results / "figures" / "fig4.png")
    figure5(evolves, results / "figures" / "fig5.png")
