"""scripts/paper_check.py: the datasets it generates are read by naslid's loaders in their real
layout, and it expects each paper config's number of sub-supernets."""

import sys

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import paper_check  # noqa: E402

from naslid.config import load_config  # noqa: E402
from naslid.data import dataset_files, load_dataset  # noqa: E402


@pytest.mark.parametrize("dataset, classes", [("cifar10", 10), ("cifar100", 100)])
def test_generated_cifar_is_read_in_its_real_layout(tmp_path, dataset, classes):
    paper_check.write_cifar(tmp_path / dataset, dataset, np.random.default_rng(0))
    data = {"dataset": dataset, "root": str(tmp_path / dataset), "valid_split": True, "limit": None, "augment": False}
    config = load_config(None, {"data": data})
    assert all(p.is_file() for p in dataset_files(config["data"]))
    loaded = load_dataset(config["data"])
    assert loaded.num_classes == classes and tuple(loaded.train.images.shape[1:]) == (3, 32, 32)
    assert len(loaded.train) + len(loaded.valid) + len(loaded.test) >= sum(paper_check.CIFAR_IMAGES.values())


def test_generated_imagenet_is_read_as_jpeg_folders(tmp_path):
    paper_check.write_imagenet(tmp_path / "imagenet", np.random.default_rng(0))
    config = load_config(None, {"data": {"dataset": "imagenet", "root": str(tmp_path / "imagenet")}})
    loaded = load_dataset(config["data"])
    assert loaded.num_classes == paper_check.IMAGENET["classes"]
    assert len(loaded.train) == paper_check.IMAGENET["classes"] * paper_check.IMAGENET["train"]
    assert tuple(loaded.train.images[0:2].shape) == (2, 3, 224, 224)


def test_the_check_expects_the_papers_sub_supernets():
    nb201 = load_config([REPO / "config" / "paper" / "nb201-cifar10.yaml"])
    assert paper_check.expected_sub_supernets(nb201) == {
        "lid": 16, "lid-pearson": 16, "gradient": 16, "exhaustive": 5, "nonlinear-count": 7, "random": 16, "none": 1,
    }  # fmt: skip
    proxyless = load_config([REPO / "config" / "paper" / "proxyless-imagenet.yaml"])
    assert paper_check.expected_sub_supernets(proxyless) == {"lid": 4, "gradient": 4, "none": 1}


def test_the_overlay_shrinks_budgets_only():
    """The overlay touches no key that shapes the method or the protocol: space, rounds, criteria,
    augmentation, ground truth, rank protocol; it only groups each sub-supernet's profiling in one job."""
    config = load_config([REPO / "config" / "paper" / "nb201-cifar10.yaml"])
    settings = paper_check.overlay(config, REPO / "results" / "x" / "data")
    shaped = load_config([REPO / "config" / "paper" / "nb201-cifar10.yaml"], settings)
    for section in ("space", "split", "benchmark", "rank"):
        assert shaped[section] == config[section], section
    assert shaped["workflow"]["criteria"] == config["workflow"]["criteria"]
    assert shaped["workflow"]["profile_jobs"] == "sub-supernet"  # the same profiles, fewer job starts
    assert shaped["data"]["augment"] and shaped["data"]["valid_split"] and shaped["data"]["dataset"] == "cifar10"
