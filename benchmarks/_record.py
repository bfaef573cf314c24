"""Where benchmark figures are recorded: one JSON per benchmark and the summary the README cites."""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").is_file()
        else platform.processor()
    )
    import torch

    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu}, {os.cpu_count()} cores{gpu}, torch {torch.__version__}"


def record(name: str, details: dict, figures: dict[str, tuple[float, float | str, str]]) -> None:
    """Write results/<name>.json and merge `figures` {key: (value, goal, unit)} into results/summary.json."""
    RESULTS.mkdir(exist_ok=True)
    when, where = datetime.date.today().isoformat(), machine()
    (RESULTS / f"{name}.json").write_text(json.dumps({"measured": when, "machine": where, **details}, indent=2) + "\n")
    path = RESULTS / "summary.json"
    summary = json.loads(path.read_text()) if path.is_file() else {}
    for key, (value, goal, unit) in figures.items():
        summary[key] = {"value": value, "goal": goal, "unit": unit, "measured": when, "machine": where}
    path.write_text(json.dumps(dict(sorted(summary.items())), indent=2) + "\n")
