"""The bad-input table: each row a wrong input, the error class it must raise, a fragment of its
message and the outputs the failed call would have written. Every one ends in one clear NaslidError;
none of those outputs exists afterwards, nor any temporary file (the other rows only read)."""

import errno
import math

import numpy as np
import pytest
import torch

from conftest import tiny_config
from naslid.spaces.nb201.ground_truth import open_benchmark
from naslid.config import load_config
from naslid.data import load_dataset
from naslid.errors import ArchError, BenchmarkError, CheckpointError, ConfigError, DataError, NaslidError, TrainingError
from naslid.io import atomic_write_json, load_checkpoint
from naslid.spaces.nb201.encoding import Arch, check_mask, full_mask


def _missing_dataset_dir(tmp_path):
    load_dataset(load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path / "nowhere")}})["data"])


def _truncated_checkpoint(tmp_path):
    from naslid.io import atomic_torch_save

    path = tmp_path / "s.pt"
    atomic_torch_save(path, {"kind": "supernet", "weights": torch.zeros(1000)})
    path.write_bytes(path.read_bytes()[:200])
    load_checkpoint(path, "supernet")


def _garbage_checkpoint(tmp_path):
    (tmp_path / "s.pt").write_text("not a checkpoint")
    load_checkpoint(tmp_path / "s.pt", "supernet")


def _benchmark_missing(tmp_path):
    open_benchmark(load_config(None, {"benchmark": {"path": str(tmp_path / "none.csv")}}))


def _benchmark_wrong_format(tmp_path):
    (tmp_path / "b.pth").write_bytes(b"\x00\x01garbage")
    open_benchmark(load_config(None, {"benchmark": {"kind": "nas-bench-201", "path": str(tmp_path / "b.pth")}}))


def _config_file(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path)


def _nan_loss(tmp_path):
    from naslid.spaces.checkpoint import build_supernet
    from naslid.method.rsps import train

    config = tiny_config(tmp_path, train={"lr": 1e30, "epochs": 1, "grad_clip": 0.0})
    dataset = load_dataset(config["data"])
    model = build_supernet(config, 10, full_mask())
    with torch.no_grad():
        model.classifier.weight.fill_(math.inf)
    train(config, model, dataset, 1, 1e30, tmp_path / "out" / "s.pt", tmp_path / "out" / "m.json")


def _cuda_missing(tmp_path):
    from naslid.runtime.device import resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the row checks a machine without it")
    resolve_device(load_config(None, {"device": "cuda"}))


def _disk_full(tmp_path, monkeypatch):
    import naslid.io

    real = naslid.io.os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(naslid.io.os, "fsync", full)
    try:
        atomic_write_json(tmp_path / "out" / "r.json", {"a": 1})
    finally:
        monkeypatch.setattr(naslid.io.os, "fsync", real)


ROWS = [
    ("missing dataset directory", _missing_dataset_dir, DataError, "does not exist", ()),
    ("truncated checkpoint", _truncated_checkpoint, CheckpointError, "corrupt or truncated", ()),
    ("corrupt checkpoint", _garbage_checkpoint, CheckpointError, "corrupt or truncated", ()),
    ("benchmark file missing", _benchmark_missing, BenchmarkError, "does not exist", ()),
    (
        "benchmark file of the wrong format",
        _benchmark_wrong_format,
        BenchmarkError,
        "is not a readable nas-bench-201 benchmark",
        (),
    ),
    (
        "malformed arch string",
        lambda t: Arch.from_str("|nor_conv_3x3~0|+|none~1|"),
        ArchError,
        "malformed architecture string",
        (),
    ),
    (
        "unknown op name",
        lambda t: Arch.from_str("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
        ArchError,
        "unknown op 'conv_7x7'",
        (),
    ),
    (
        "config with an unknown key",
        lambda t: _config_file(t, "train: {epochz: 3}\n"),
        ConfigError,
        "unknown config key 'train.epochz'",
        (),
    ),
    (
        "config with a wrong type",
        lambda t: _config_file(t, "space: {C: eight}\n"),
        ConfigError,
        "'space.C' must be of type int",
        (),
    ),
    (
        "config with negative epochs",
        lambda t: _config_file(t, "finetune: {epochs: -1}\n"),
        ConfigError,
        "'finetune.epochs' must be >= 0",
        (),
    ),
    (
        "config with k >= batch size",
        lambda t: _config_file(t, "lid: {k: 64, batch_size: 64}\n"),
        ConfigError,
        "must be smaller than 'lid.batch_size'",
        (),
    ),
    (
        "config file that is not YAML",
        lambda t: _config_file(t, "train: [unclosed\n"),
        ConfigError,
        "is not valid YAML",
        (),
    ),
    ("CUDA requested on a machine without it", _cuda_missing, TrainingError, "no CUDA device", ()),
    ("NaN loss", _nan_loss, TrainingError, "loss became", ("out/s.pt", "out/m.json", "out/s.pt.resume")),
    (
        "mask that leaves an edge with no op",
        lambda t: check_mask(np.zeros((6, 5), dtype=bool)),
        ArchError,
        "with no op",
        (),
    ),
]


@pytest.mark.parametrize("name, make, error, fragment, outputs", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_table(tmp_path, name, make, error, fragment, outputs):
    with pytest.raises(error, match=fragment) as caught:
        make(tmp_path)
    assert isinstance(caught.value, NaslidError)
    assert "\n" not in str(caught.value)  # one line
    assert [o for o in outputs if (tmp_path / o).exists()] == []  # no partial output
    assert list(tmp_path.rglob("*.tmp")) == []  # nor a temporary left behind


def test_disk_full_while_writing_leaves_no_file_and_no_temporary(tmp_path, monkeypatch):
    with pytest.raises(NaslidError, match="could not write .*No space left on device"):
        _disk_full(tmp_path, monkeypatch)
    assert list((tmp_path / "out").iterdir()) == []
