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
        batch = {
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, per_batch).tolist(),
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle)


def test_cifar10_valid_convention_splits_the_training_set_in_halves(tmp_path):
    write_cifar10(tmp_path)
    data = load_dataset(load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path)}})["data"])
    assert len(data.train) == len(data.valid) == 50 and len(data.test) == 20
    assert data.train.images.shape[1:] == (3, 32, 32) and data.train.images.dtype == torch.uint8
    train_rows = {bytes(x.numpy().tobytes()) for x in data.train.images}
    assert not train_rows & {bytes(x.numpy().tobytes()) for x in data.valid.images}  # disjoint halves
    full = load_dataset(
        load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path), "valid_split": False}})["data"]
    )
    assert len(full.train) == 100 and torch.equal(full.valid.images, full.test.images)


def test_cifar100_reads_fine_labels_and_splits_its_test_set_into_valid_and_test_halves(tmp_path):
    """CIFAR-100's python layout (files train and test, fine and coarse labels): NB201 trains on all
    50k and validates on one half of the 10k test images, tests on the other."""
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    written = {}
    for name, n in (("train", 30), ("test", 12)):
        written[name] = {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "fine_labels": rng.integers(0, 100, n).tolist(),
            "coarse_labels": rng.integers(0, 20, n).tolist(),
            "filenames": [f"{i}.png" for i in range(n)],
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(written[name], handle)
    data = load_dataset(load_config(None, {"data": {"dataset": "cifar100", "root": str(tmp_path)}})["data"])
    assert data.num_classes == 100 and len(data.train) == 30 and len(data.valid) == len(data.test) == 6
    assert data.train.labels.tolist() == written["train"]["fine_labels"]  # fine, not coarse
    assert torch.equal(data.train.images[3], torch.from_numpy(written["train"]["data"][3].reshape(3, 32, 32)))
    halves = torch.cat([data.valid.labels, data.test.labels]).tolist()
    assert sorted(halves) == sorted(written["test"]["fine_labels"])  # the two halves cover the test set
    pixels = {x.numpy().tobytes() for x in data.valid.images}
    assert not pixels & {x.numpy().tobytes() for x in data.test.images}


def test_imagenet16_keeps_the_first_120_classes_with_labels_from_zero(tmp_path):
    """NB201's ImageNet16 pickles: 16x16 images, labels 1..1000; ImageNet16-120 is classes 1..120,
    read as 0..119, and validates and tests on the two halves of val_data."""
    folder = tmp_path / "ImageNet16"
    folder.mkdir()
    rng = np.random.default_rng(2)
    labels = {}
    for name in [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]:
        labels[name] = rng.integers(1, 1001, 40)
        labels[name][:8] = [1, 120, 121, 1000, 60, 2, 119, 500]  # both edges of the kept range, and beyond
        batch = {"data": rng.integers(0, 256, (40, 768), dtype=np.uint8), "labels": labels[name].tolist()}
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle)
    data = load_dataset(load_config(None, {"data": {"dataset": "imagenet16-120", "root": str(tmp_path)}})["data"])
    train_labels = np.concatenate([labels[f"train_data_batch_{i}"] for i in range(1, 11)])
    assert data.num_classes == 120 and data.train.images.shape[1:] == (3, 16, 16)
    assert data.train.labels.tolist() == (train_labels[train_labels <= 120] - 1).tolist()
    assert data.train.labels.min() == 0 and data.train.labels.max() == 119
    val = labels["val_data"]
    assert len(data.valid) + len(data.test) == (val <= 120).sum()


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


def _imagenet_folder(root, sizes=((300, 250), (180, 400), (224, 224))):
    """train/ and val/ of 3 classes, one solid colour per class, images of several shapes."""
    from PIL import Image

    colours = {"n01440764": (255, 0, 0), "n01443537": (0, 255, 0), "n01484850": (0, 0, 255)}
    for split in ("train", "val"):
        for wnid, colour in colours.items():
            (root / split / wnid).mkdir(parents=True)
            for i, size in enumerate(sizes):
                Image.new("RGB", size, colour).save(root / split / wnid / f"{wnid}_{i}.JPEG", quality=95)
    return colours


def test_imagenet_folder_is_decoded_per_batch_with_classes_in_wnid_order(tmp_path):
    colours = _imagenet_folder(tmp_path)
    dataset = load_dataset(load_config(None, {"data": {"dataset": "imagenet", "root": str(tmp_path)}})["data"])
    assert dataset.num_classes == 3 and len(dataset.train) == 9 and len(dataset.valid) + len(dataset.test) == 9
    assert set(dataset.valid.images.paths).isdisjoint(dataset.test.images.paths)
    images = dataset.train.images[torch.arange(9)]
    assert images.shape == (9, 3, 224, 224) and images.dtype == torch.uint8
    for image, label in zip(images, dataset.train.labels):  # solid colours survive resize, crop and JPEG
        expected = torch.tensor(list(colours.values())[int(label)], dtype=torch.float32)
        assert (image.float().mean(dim=(1, 2)) - expected).abs().max() < 3
    x, y = next(batches(dataset, dataset.train, 4, torch.Generator().manual_seed(0), augment=True))
    assert x.shape == (4, 3, 224, 224) and x.dtype == torch.float32 and len(y) == 4


def test_imagenet_errors_name_the_directory_or_the_file(tmp_path):
    data = load_config(None, {"data": {"dataset": "imagenet", "root": str(tmp_path)}})["data"]
    with pytest.raises(DataError, match="train"):
        load_dataset(data)
    _imagenet_folder(tmp_path)
    bad = tmp_path / "train" / "n01440764" / "n01440764_0.JPEG"
    bad.write_bytes(b"not a jpeg")
    dataset = load_dataset(data)
    with pytest.raises(DataError, match="n01440764_0.JPEG cannot be decoded"):
        dataset.train.images[torch.arange(9)]


def test_dataset_files_are_the_files_the_reader_reads(tmp_path):
    """The workflow's data inputs (`dataset_files`): each listed file is one the reader opens (a
    corrupt copy makes loading fail naming it); files it does not read are not listed."""
    from naslid.data import dataset_files

    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "readme.html").write_text("<html>what the CIFAR archive also holds</html>")
    cfg = load_config(None, {"data": {"dataset": "cifar10", "root": str(tmp_path)}})["data"]
    listed = dataset_files(cfg)
    assert sorted(p.name for p in listed) == sorted([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
    for path in listed:
        original = path.read_bytes()
        path.write_bytes(b"\x80\x04garbage")
        with pytest.raises(DataError, match=f"{path.name} is unreadable"):
            load_dataset(cfg)
        path.write_bytes(original)
    assert dataset_files(load_config(None, {})["data"]) == []  # the proxy: generated by code
