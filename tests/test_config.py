"""The validated config: every bad value is named."""

import pytest
import yaml

from naslid.config import DEFAULTS, load_config
from naslid.errors import ConfigError


def write(tmp_path, cfg):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    "cfg, fragment",
    [
        ({"trian": {"epochs": 1}}, "unknown config key 'trian'"),
        ({"train": {"epoch": 1}}, "unknown config key 'train.epoch'"),
        ({"train": {"epochs": "ten"}}, "'train.epochs' must be of type int"),
        ({"train": {"epochs": -1}}, "'train.epochs' must be >= 0"),
        ({"train": {"lr": True}}, "'train.lr' must be of type float"),
        ({"lid": {"k": 128, "batch_size": 128}}, "'lid.k' \\(128\\) must be smaller than 'lid.batch_size'"),
        ({"device": "tpu"}, "'device' must be one of cpu, cuda"),
        ({"lid": {"similarity": "manhattan"}}, "'lid.similarity' must be one of"),
        ({"space": 3}, "space must be a mapping"),
        ({"data": {"root": 5}}, "'data.root' must be a path string or null"),
    ],
)
def test_bad_config_names_the_key(tmp_path, cfg, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, cfg))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_overrides_merge_and_defaults_stay(tmp_path):
    config = load_config(write(tmp_path, {"train": {"epochs": 3}}))
    assert config["train"]["epochs"] == 3
    assert config["train"]["lr"] == DEFAULTS["train"]["lr"]
    assert DEFAULTS["train"]["epochs"] == 50  # the defaults themselves are never mutated


def test_shipped_configs_are_valid():
    from conftest import REPO

    for path in [
        REPO / "config" / "config.yaml",
        REPO / "config" / "compare.yaml",
        *sorted((REPO / "config" / "paper").glob("*.yaml")),
    ]:
        load_config(path)


def test_compare_config_is_the_embedded_default_over_three_seeds():
    from conftest import REPO

    default, compare = (load_config(REPO / "config" / f"{name}.yaml") for name in ("config", "compare"))
    assert compare["workflow"].pop("seeds") == [0, 1, 2] and compare.pop("name") == "compare"
    default["workflow"].pop("seeds"), default.pop("name")
    assert compare == default
