"""Dataset registry: real on-disk formats, NB201's split conventions, clear errors."""

import pickle

import numpy as np
import pytest
import torch

from naslid.config import load_config
from naslid.data import batches, load_dataset
from naslid.errors import DataError


def write_cifar10(root, per_batch=20):
    """A tiny directory in CIFAR-10's python pickle layout (what torchvision extracts)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), "labels": rng.integers(0, 10, per_batch).tolist()}
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle)


def test_cifar10_valid_convention_splits_the_training_set_in_halves(tmp_path):
    write_cifar10(tmp_path)
    data = load_dataset(load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path)}})["data"])
    assert len(data.train) == len(data.valid) == 50 and len(data.test) == 20
    assert data.train.images.shape[1:] == (3, 32, 32) and data.train.images.dtype == torch.uint8
    train_rows = {bytes(x.numpy().tobytes()) for x in data.train.images}
    assert not train_rows & {bytes(x.numpy().tobytes()) for x in data.valid.images}  # disjoint halves
    full = load_dataset(load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path), "valid_split": False}})["data"])
    assert len(full.train) == 100 and torch.equal(full.valid.images, full.test.images)


def test_truncated_dataset_file_is_named(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError, match="data_batch_3 is unreadable"):
        load_dataset(load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path)}})["data"])


def test_missing_root_names_the_key():
    with pytest.raises(DataError, match="needs 'data.root'"):
        load_dataset(load_config(None, {"data": {"dataset": "cifar100"}})["data"])


def test_proxy_is_deterministic_and_batches_cover_the_split():
    cfg = load_config(None, {"data": {"limit": 100}})["data"]
    a, b = load_dataset(cfg), load_dataset(cfg)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.train.labels, b.train.labels)
    seen = torch.cat([labels for _, labels in batches(a, a.train, 32, torch.Generator().manual_seed(0), augment=True)])
    assert sorted(seen.tolist()) == sorted(a.train.labels.tolist())
