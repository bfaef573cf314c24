"""Datasets with train/valid/test splits, held in memory as uint8 images and normalised per batch.

Registry (`DATASETS`): `proxy` (generated, no download; see `naslid.data.proxy`), `cifar10` and `cifar100` (the python
pickle layout torchvision uses on disk: `cifar-10-batches-py/`, `cifar-100-python/`), and
`imagenet16-120` (NB201's down-sampled ImageNet pickles), and `imagenet` (the full ImageNet from a local
directory, decoded per batch: `naslid.data.imagenet`). Nothing is downloaded.

Splits follow NB201: `cifar10` with `data.valid_split` trains on one half of the training set and
validates on the other (NB201's `cifar10-valid`); otherwise it validates on the test set.
`cifar100`, `imagenet16-120` and `imagenet` validate on one half of the test set and test on the other
(NB201's `x-valid` / `x-test`). The halves are a fixed permutation (seed 0); NB201's own split
files are not shipped, so the halves differ from NB201's, though the convention is the same.
"""

from __future__ import annotations

import functools
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from naslid.data import proxy
from naslid.errors import DataError


@dataclass
class Split:
    images: torch.Tensor  # (n, 3, H, W) uint8
    labels: torch.Tensor  # (n,) int64

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    name: str
    train: Split
    valid: Split
    test: Split
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (images.float() / 255.0 - mean) / std


def load_dataset(data_config: dict) -> Dataset:
    name = data_config["dataset"]
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    dataset = DATASETS[name](data_config)
    limit = data_config["limit"]
    if limit is not None:
        for split in ("train", "valid", "test"):
            setattr(
                dataset, split, _subset(getattr(dataset, split), np.arange(min(limit, len(getattr(dataset, split)))))
            )
    return dataset


def batches(
    dataset: Dataset,
    split: Split,
    batch_size: int,
    generator: torch.Generator | None,
    augment: bool = False,
    drop_last: bool = False,
):
    """Yield normalised (images, labels) batches; shuffled and augmented when a generator is given."""
    n = len(split)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        images = split.images[index]
        if augment and generator is not None:
            images = _crop_flip(images, generator)
        yield dataset.normalise(images), split.labels[index]


def _crop_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip (the CIFAR recipe of NB201)."""
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    out[flip] = out[flip].flip(-1)
    return out


def _halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(0).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2 :])


def _subset(split: Split, index: np.ndarray) -> Split:
    index = torch.as_tensor(index)
    images = (
        split.images.subset(index) if hasattr(split.images, "subset") else split.images[index]
    )  # files stay undecoded
    return Split(images, split.labels[index])


# The files each reader reads, under data.root: (folder, train files, test files). The workflow makes
# them inputs of every stage that loads the data (`dataset_files`), so an edited dataset reruns them.
_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]),
    "cifar100": ("cifar-100-python", ["train"], ["test"]),
    "imagenet16-120": ("ImageNet16", [f"train_data_batch_{i}" for i in range(1, 11)], ["val_data"]),
}


def dataset_files(cfg: dict) -> list[Path]:
    """What the configured dataset is read from: its files (CIFAR, ImageNet16), or ImageNet's train/
    and val/ folders (1.28 M files are too many to list: a folder changes when a file is added or
    removed, not when one is edited in place); none for the proxy, which naslid/data/proxy.py generates."""
    if cfg["root"] is None:
        return []
    if cfg["dataset"] == "imagenet":
        return [Path(cfg["root"]) / "train", Path(cfg["root"]) / "val"]
    folder, train, test = _LAYOUT[cfg["dataset"]]
    return [Path(cfg["root"]) / folder / name for name in train + test]


def _require_dir(root: str | None, dataset: str, subdir: str, layout: str, how: str) -> Path:
    if root is None:
        raise DataError(
            f"dataset {dataset!r} needs 'data.root' in the config: "
            f"the directory that contains {subdir}/ ({layout}); {how}"
        )
    path = Path(root) / subdir
    if not path.is_dir():
        raise DataError(f"dataset directory {path} does not exist; expected {layout} under {root}; {how}")
    return path


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"dataset file {path} is missing; the dataset directory is incomplete")
    with path.open("rb") as handle:
        try:
            return pickle.load(handle, encoding="latin1")
        except Exception as err:
            raise DataError(
                f"dataset file {path} is unreadable ({type(err).__name__}); re-extract the dataset archive"
            ) from None


def _cifar_split(files: list[Path], label_key: str) -> Split:
    parts = [_unpickle(f) for f in files]
    images = np.concatenate([p["data"] for p in parts]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([p[label_key] for p in parts])
    return Split(torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels.astype(np.int64)))


_CIFAR_HOW = (
    "download and extract the python version from https://www.cs.toronto.edu/~kriz/cifar.html (as torchvision does)"
)


def _cifar10(cfg: dict) -> Dataset:
    root = _require_dir(cfg["root"], "cifar10", "cifar-10-batches-py", "data_batch_1..5 and test_batch", _CIFAR_HOW)
    _, train_files, test_files = _LAYOUT["cifar10"]
    train = _cifar_split([root / f for f in train_files], "labels")
    test = _cifar_split([root / f for f in test_files], "labels")
    if cfg["valid_split"]:
        a, b = _halves(len(train))
        train, valid = _subset(train, a), _subset(train, b)
    else:
        valid = test
    return Dataset("cifar10", train, valid, test, 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


def _cifar100(cfg: dict) -> Dataset:
    root = _require_dir(cfg["root"], "cifar100", "cifar-100-python", "files train and test", _CIFAR_HOW)
    _, train_files, test_files = _LAYOUT["cifar100"]
    train = _cifar_split([root / f for f in train_files], "fine_labels")
    test = _cifar_split([root / f for f in test_files], "fine_labels")
    a, b = _halves(len(test))
    return Dataset(
        "cifar100", train, _subset(test, a), _subset(test, b), 100, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
    )


def _imagenet16(cfg: dict) -> Dataset:
    how = "obtain NB201's ImageNet16 pickles (train_data_batch_1..10, val_data) from the NAS-Bench-201 authors"
    root = _require_dir(cfg["root"], "imagenet16-120", "ImageNet16", "train_data_batch_1..10 and val_data", how)

    def load(files):
        parts = [_unpickle(f) for f in files]
        images = np.concatenate([p["data"] for p in parts]).reshape(-1, 3, 16, 16)
        labels = np.concatenate([np.asarray(p["labels"]) for p in parts]) - 1  # stored 1-based
        keep = labels < 120  # NB201's ImageNet16-120: the first 120 classes
        return Split(torch.from_numpy(images[keep].astype(np.uint8)), torch.from_numpy(labels[keep].astype(np.int64)))

    _, train_files, test_files = _LAYOUT["imagenet16-120"]
    train = load([root / f for f in train_files])
    test = load([root / f for f in test_files])
    a, b = _halves(len(test))
    return Dataset(
        "imagenet16-120",
        train,
        _subset(test, a),
        _subset(test, b),
        120,
        (0.4811, 0.4575, 0.4078),
        (0.2605, 0.2533, 0.2683),
    )


def _imagenet(cfg: dict) -> Dataset:
    from naslid.data import imagenet

    how = "extract ILSVRC2012 into train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (the usual extraction scripts do)"
    train_dir = _require_dir(cfg["root"], "imagenet", "train", "train/<wnid>/*.JPEG", how)
    val_dir = _require_dir(cfg["root"], "imagenet", "val", "val/<wnid>/*.JPEG", how)
    classes = imagenet.class_names(train_dir)
    threads = min(16, os.cpu_count() or 1)
    train, val = (
        Split(imagenet.FolderImages(paths, threads), labels)
        for paths, labels in (imagenet.folder_split(d, classes) for d in (train_dir, val_dir))
    )
    a, b = _halves(len(val))
    return Dataset(
        "imagenet", train, _subset(val, a), _subset(val, b), len(classes), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    )


def _proxy(cfg: dict) -> Dataset:
    """The generated proxy task (`naslid.data.proxy`): the same images in every experiment; with
    `data.limit` only the images kept are drawn (a second of every job's start in a small test run)."""
    arrays = _proxy_arrays(cfg["limit"]).values()
    splits = [Split(torch.from_numpy(images), torch.from_numpy(labels)) for images, labels in arrays]
    return Dataset("proxy", *splits, len(proxy.classes()), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


@functools.lru_cache(maxsize=2)
def _proxy_arrays(limit: int | None):
    return proxy.generate(limit)


DATASETS = {
    "proxy": _proxy,
    "cifar10": _cifar10,
    "cifar100": _cifar100,
    "imagenet16-120": _imagenet16,
    "imagenet": _imagenet,
}
