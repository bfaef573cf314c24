"""Print the quality figures of a proxy ground-truth table (naslid/data/README.md quotes them).

.venv/bin/python scripts/proxy_table_report.py [naslid/data/proxy_benchmark.csv]
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from naslid.spaces.nb201.ground_truth import SHIPPED_NB201_TABLE, SHIPPED_PROXY_TABLE
from naslid.stages.build_benchmark import op_counts
from naslid.spaces.nb201.encoding import Arch


def main(path: Path) -> None:
    table = pd.read_csv(path)
    nb201 = pd.read_csv(SHIPPED_NB201_TABLE).set_index("index")
    valid = table["proxy_valid"]
    tau = lambda a, b: scipy.stats.kendalltau(a, b)[0]  # noqa: E731
    top50 = table.nlargest(50, "proxy_valid")
    seed_gap = (table["valid_acc_s0"] - table["valid_acc_s1"]).abs()
    record = json.loads(path.with_suffix(".json").read_text()) if path.with_suffix(".json").is_file() else {}
    figures = {
        "rows": len(table),
        "valid P10 / P50 / P90": [round(float(np.percentile(valid, q)), 2) for q in (10, 50, 90)],
        "spread P90 - P10 (points)": round(float(np.percentile(valid, 90) - np.percentile(valid, 10)), 2),
        "best / worst valid": [round(float(valid.max()), 2), round(float(valid.min()), 2)],
        "Kendall tau seed 0 vs seed 1 (all)": round(tau(table["valid_acc_s0"], table["valid_acc_s1"]), 3),
        "Kendall tau seed 0 vs seed 1 (top 50 by mean)": round(tau(top50["valid_acc_s0"], top50["valid_acc_s1"]), 3),
        "mean |seed 0 - seed 1| (points)": round(float(seed_gap.mean()), 2),
        "Kendall tau proxy_valid vs proxy_test": round(tau(table["proxy_valid"], table["proxy_test"]), 3),
        "Kendall tau proxy_test vs NB201 cifar10_test": round(
            tau(table["proxy_test"], nb201.loc[table["index"], "cifar10_test"]), 3
        ),
        "Kendall tau proxy_test vs NB201 cifar10_test (top 50 by proxy)": round(
            tau(top50["proxy_test"], nb201.loc[top50["index"], "cifar10_test"]), 3
        ),
        "NB201 optima (6111, 9930): proxy_valid and rank of 200": {
            int(i): [
                round(float(valid[table["index"] == i].item()), 2),
                int((valid > valid[table["index"] == i].item()).sum() + 1),
            ]
            for i in (6111, 9930)
        },
        "build: training seconds summed over all trainings": record.get("train_seconds_total"),
        "build: wall seconds of the last sitting": record.get("build_seconds_this_sitting"),
    }
    best = table.nlargest(5, "proxy_valid")
    figures["top 5"] = [f"{r.proxy_valid:.2f} {op_counts(Arch.from_str(r.arch))} {r.arch}" for r in best.itertuples()]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED_PROXY_TABLE)
