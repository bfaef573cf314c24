"""Cost of profiling one edge, LID vs gradient matching (paper Table 1): `naslid cost`.

    naslid cost --config config/config.yaml --supernet results/default/s0/pretrain/supernet.pt --out cost.json

For each input size and each criterion, a fresh interpreter loads the supernet and a batch stream
(the configured dataset's training images, resized to the input size: the same images for both
criteria), then profiles one edge: every op, R batches (`lid.batches`/`gradient.batches`,
`lid.batch_size`). It reports the wall time and the peak memory of that step: on CUDA the
allocator's peak (`torch.cuda.max_memory_allocated`), on CPU the growth of the process's peak
resident set over what it held before the step (a fresh process per measurement, so the two
criteria are measured alike; the peak is reset through /proc/self/clear_refs before the step, so
loading and resizing the data beforehand does not count).
"""

from __future__ import annotations

import multiprocessing
import platform
import time
from pathlib import Path

import torch

from naslid.errors import NaslidError
from naslid.io import atomic_write_json
from naslid.stages import Arg, Stage

STAGE = Stage(
    "cost",
    "peak memory and time of profiling one edge, LID vs gradient matching (Table 1)",
    reads=("lid", "gradient", "data", "space", "supernet", "device"),
    inputs=(
        Arg("--supernet", "checkpoint of the supernet to profile"),
        Arg("--sizes", "input sizes in pixels (default: 32 64)", many=True, required=False, type=int, default=[32, 64]),
    ),
    outputs=(Arg("--out", "cost JSON to write"),),
)


CRITERIA = ("lid", "gradient")


def _status_bytes(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise NaslidError(f"/proc/self/status has no {field}; CPU memory is measured on Linux only")


def _reset_peak_rss() -> None:
    """Make the peak resident set start from the current one (Linux: "5" to /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def _measure(config: dict, supernet: str, criterion: str, size: int, edge: int) -> dict:
    """One measurement, run in a fresh process."""
    from naslid.data import Split, load_dataset
    from naslid.method.criteria import get_criterion
    from naslid.runtime.device import resolve_device, seed_everything
    from naslid.spaces.checkpoint import load_supernet

    # Like for like: both criteria see R = lid.batches batches of lid.batch_size images.
    config = {
        **config,
        "split": {**config["split"], "criterion": criterion},
        "gradient": {"batches": config["lid"]["batches"], "batch_size": config["lid"]["batch_size"]},
    }
    seed_everything(config)
    device = resolve_device(config)
    model, ckpt = load_supernet(supernet, config)
    dataset = load_dataset(config["data"])
    images = dataset.train.images
    if images.shape[-1] != size:
        images = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="nearest").to(torch.uint8)
    dataset.train = Split(images, dataset.train.labels)
    model.to(device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        _reset_peak_rss()
        base = _status_bytes("VmRSS")
    start = time.perf_counter()
    get_criterion(criterion).profile(config, model, dataset, edge, "cost", device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _status_bytes("VmHWM") - base
    return {
        "criterion": criterion,
        "input_size": size,
        "seconds": time.perf_counter() - start,
        "peak_mb": max(peak, 0) / 2**20,
        "device": device.type,
    }


def _child(queue, *args):
    try:
        queue.put(_measure(*args))
    except Exception as err:  # reported by the parent as one clear error
        queue.put({"error": f"{type(err).__name__}: {err}"})


def run(config: dict, inputs, outputs) -> dict:
    if any(size < 8 for size in inputs.sizes):
        raise NaslidError(f"--sizes must be at least 8 pixels (three stages halve the input twice), got {inputs.sizes}")
    return cost(config, inputs.supernet, inputs.sizes, outputs.out)


def cost(config: dict, supernet: Path, sizes: list[int], out: Path, edge: int = 0) -> dict:
    if not supernet.is_file():
        raise NaslidError(f"supernet checkpoint {supernet} does not exist; run `naslid pretrain` first")
    context = multiprocessing.get_context("spawn")
    rows = []
    for size in sizes:
        for criterion in CRITERIA:
            queue = context.Queue()
            process = context.Process(target=_child, args=(queue, config, str(supernet), criterion, size, edge))
            process.start()
            result = queue.get()
            process.join()
            if "error" in result:
                raise NaslidError(f"measuring {criterion} at {size}x{size} failed: {result['error']}")
            rows.append(result)
    for size in sizes:
        lid, grad = (next(r for r in rows if r["criterion"] == c and r["input_size"] == size) for c in CRITERIA)
        lid["memory_ratio_lid_over_gradient"] = lid["peak_mb"] / grad["peak_mb"] if grad["peak_mb"] else None
        lid["time_ratio_lid_over_gradient"] = lid["seconds"] / grad["seconds"]
    device = (
        "cuda: " + torch.cuda.get_device_name()
        if config["device"] == "cuda"
        else f"cpu: {platform.processor() or platform.machine()}"
    )
    result = {
        "kind": "cost",
        "name": config["name"],
        "edge": edge,
        "batches": config["lid"]["batches"],
        "batch_size": config["lid"]["batch_size"],
        "machine": device,
        "torch": torch.__version__,
        "rows": rows,
    }
    atomic_write_json(out, result)
    return result
