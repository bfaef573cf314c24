"""RSPS training: checkpoints, inheritance, clear failures (killing and resuming: test_preempt.py)."""

import pytest
import torch

from conftest import tiny_config
from naslid.errors import TrainingError
from naslid.spaces.checkpoint import build_supernet, load_supernet
from naslid.stages.finetune import finetune
from naslid.stages.pretrain import pretrain


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


def test_scratch_reinitialises_only_the_final_sub_supernets(tmp_path):
    """A child that a later round splits keeps its parent's weights under `finetune.init: scratch`, so
    that round profiles trained weights; a final one starts fresh. Which is which comes from the split
    record: its criterion's rounds (exhaustive makes one whatever split.rounds says) under its config."""
    import json
    from types import SimpleNamespace

    from naslid.spaces import get_space
    from naslid.stages.finetune import run

    config = tiny_config(tmp_path, finetune={"epochs": 0, "init": "scratch"}, split={"rounds": 1})
    pretrain(config, tmp_path / "s.pt", tmp_path / "m.json")
    parent, _ = load_supernet(tmp_path / "s.pt")
    mask = get_space(config).mask_to_lists(parent.mask)
    made = {**config, "split": {**config["split"], "rounds": 2}}  # the split's config, not this job's
    fresh = build_supernet(config, 10)
    # (criterion, child id: one index per round, final?)
    for criterion, child, final in (("lid", "1", False), ("lid", "01", True), ("exhaustive", "3", True)):
        split = tmp_path / f"{criterion}{child}.json"
        record = {"criterion": criterion, "config": made, "children": [{"id": child, "mask": mask}]}
        split.write_text(json.dumps(record))
        out = tmp_path / f"{criterion}{child}.pt"
        inputs = SimpleNamespace(parent=tmp_path / "s.pt", split=split, child=0, epochs=0)
        run(config, inputs, SimpleNamespace(out=out, metrics=out.with_suffix(".json")))
        trained, _ = load_supernet(out)
        for key, value in (fresh if final else parent).state_dict().items():
            assert torch.equal(trained.state_dict()[key], value), (criterion, child, key)


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


def test_seeding_on_cpu_turns_deterministic_algorithms_on_without_importing_the_compiler():
    """seed_everything sets torch's eager determinism flag itself (the public wrapper imports
    torch's compiler, 2.3 s of every stage's start); checked in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import sys, torch; from naslid.config import load_config; from naslid.runtime.device import seed_everything; "
        "seed_everything(load_config(None, {})); "
        "print(torch.are_deterministic_algorithms_enabled(), 'torch._inductor.config' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_a_resume_file_of_another_layout_or_job_is_ignored_not_trusted(tmp_path, capsys):
    """What `ResumeFile.load` returns None for (the job starts over, saying why): an older naslid's
    per-stage layout, another job's fingerprint, a truncated file; its own file it returns."""
    from naslid.io import atomic_torch_save
    from naslid.runtime.resume import ResumeFile

    resume = ResumeFile(tmp_path / "p.csv.resume", "profile", "abc")
    atomic_torch_save(resume.path, {"kind": "profile-resume", "fingerprint": "abc", "edges": {0: (2, [])}})
    assert resume.load() is None
    atomic_torch_save(resume.path, {"kind": "resume", "fingerprint": "abc", "state": {"edges": {}}})  # no format
    assert resume.load() is None
    resume.save({"edges": {0: (2, [])}})
    assert resume.load() == {"edges": {0: (2, [])}}
    assert ResumeFile(resume.path, "profile", "another").load() is None
    resume.path.write_bytes(resume.path.read_bytes()[:100])
    assert resume.load() is None
    assert capsys.readouterr().err.count("ignoring") == 4
