"""RSPS training: determinism, kill-and-resume bit-identity, clear failures."""

import json
import signal
import subprocess
import time

import pytest
import torch
import yaml

from conftest import PYTHON, tiny_config
from naslid.errors import TrainingError
from naslid.train import build_supernet, finetune, load_supernet, pretrain


def write_config(tmp_path, epochs):
    cfg = {"space": {"C": 4, "N": 1}, "threads": 1,
           "data": {"limit": 1024},
           "train": {"epochs": epochs, "batch_size": 32, "eval_batches": 1}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_pretrain(config_path, out_dir):
    return subprocess.Popen([PYTHON, "-m", "naslid.cli", "pretrain", "--config", str(config_path),
                             "--out", str(out_dir / "supernet.pt"), "--metrics", str(out_dir / "metrics.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_pretrain_resumes_to_bit_identical_weights(tmp_path):
    config = write_config(tmp_path, epochs=4)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert run_pretrain(config, clean).wait() == 0

    proc = run_pretrain(config, killed)
    resume = killed / "supernet.pt.resume"
    deadline = time.time() + 120
    while not resume.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert resume.exists() and not (killed / "supernet.pt").exists(), "the kill must land mid-run"

    restarted = run_pretrain(config, killed)
    _, err = restarted.communicate()
    assert restarted.returncode == 0, err.decode()
    assert b"resuming" in err
    a, b = torch.load(clean / "supernet.pt"), torch.load(killed / "supernet.pt")
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    strip = lambda m: [{k: v for k, v in r.items() if k != "seconds"} for r in m]
    assert strip(a["metrics"]) == strip(b["metrics"])
    assert not resume.exists()
    assert json.loads((killed / "metrics.json").read_text())["epochs_done"] == 4


def test_checkpoint_holds_config_mask_and_rebuilds(tmp_path):
    config = tiny_config(tmp_path)
    pretrain(config, tmp_path / "s.pt", tmp_path / "m.json")
    model, ckpt = load_supernet(tmp_path / "s.pt")
    assert ckpt["config"] == config and model.mask.all()
    assert [r["epoch"] for r in ckpt["metrics"]] == [1, 2]


def test_finetune_inherits_the_parents_weights_or_starts_from_scratch(tmp_path):
    config = tiny_config(tmp_path, finetune={"epochs": 0})
    pretrain(config, tmp_path / "s.pt", tmp_path / "m.json")
    parent, _ = load_supernet(tmp_path / "s.pt")
    for init in ("inherit", "scratch"):
        cfg = {**config, "finetune": {**config["finetune"], "init": init}}
        finetune(cfg, tmp_path / "s.pt", parent.mask, "6", tmp_path / f"{init}.pt", tmp_path / f"{init}.json", [6])
    inherited, ckpt = load_supernet(tmp_path / "inherit.pt")
    scratch, _ = load_supernet(tmp_path / "scratch.pt")
    fresh = build_supernet(config, 10)
    assert ckpt["nonlinear"] == [6] and inherited.nonlinear == frozenset([6])
    for key, value in parent.state_dict().items():
        assert torch.equal(inherited.state_dict()[key], value), key
        assert torch.equal(scratch.state_dict()[key], fresh.state_dict()[key]), key
    assert any(not torch.equal(parent.state_dict()[k], fresh.state_dict()[k]) for k in fresh.state_dict())


def test_nan_loss_stops_with_a_clear_error_and_no_output(tmp_path):
    config = tiny_config(tmp_path, train={"lr": 1e30, "lr_min": 0.0, "grad_clip": 0.0})
    with pytest.raises(TrainingError, match="loss became"):
        pretrain(config, tmp_path / "s.pt", tmp_path / "m.json")
    assert not (tmp_path / "s.pt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda(tmp_path):
    config = tiny_config(tmp_path, device="cuda")
    with pytest.raises(TrainingError, match="no CUDA device"):
        pretrain(config, tmp_path / "s.pt", tmp_path / "m.json")
