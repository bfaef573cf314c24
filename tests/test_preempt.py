"""Kill each long stage at a random point, restart it, and compare with an uninterrupted run.

SIGKILL: the process dies at once; the restart resumes from the last checkpoint. SIGTERM (what SLURM
sends before preemption or the time limit): the stage finishes its current unit, writes its
checkpoint and exits 143; the restart resumes. Either way the final weights, metrics, search result
and ground-truth table equal those of a run that was never interrupted (CPU, fixed seed). The kill
point is random: after a random number of finished units (each test prints its draw), plus a random
part of the next one.
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest
import torch
import yaml

from conftest import PYTHON
from naslid.io import atomic_torch_save

CONFIG = {"space": {"C": 4, "N": 1}, "threads": 1, "data": {"limit": 512, "augment": False},
          "train": {"epochs": 5, "batch_size": 32, "eval_batches": 1},
          "finetune": {"epochs": 5},
          "evaluate": {"batches": 2, "batch_size": 128},
          "evolve": {"generations": 8, "mutations": 3, "crossovers": 3, "randoms": 2, "parents": 3},
          "build_benchmark": {"epochs": 1, "seeds": 1, "workers": 2, "C": 4},
          "final": {"epochs": 5, "batch_size": 32}}
RNG = random.Random()


def naslid(*args) -> subprocess.Popen:
    """The stage in a process group of its own: a signal goes to all its processes, as SLURM sends it."""
    return subprocess.Popen([PYTHON, "-m", "naslid.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def interrupt(args, done, units: int, sig: int) -> subprocess.CompletedProcess:
    """Start `naslid *args`, send `sig` once `done()` finished units reach a random count at least two
    below `units`, plus a random moment of the next unit (so SIGTERM never lands in the last unit,
    which a stage rightly just finishes); wait for the process; then restart it to completion."""
    after = RNG.randint(1, units - 3)
    print(f"kill with {signal.Signals(sig).name} after {after} of {units} units")
    proc = naslid(*args)
    deadline = time.time() + 300
    while done() < after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(RNG.uniform(0, 0.1))
    assert proc.poll() is None, "the stage ended before the kill; the test must interrupt it mid-run"
    os.killpg(proc.pid, sig)
    _, err = proc.communicate()
    if sig == signal.SIGTERM:
        assert proc.returncode == 143 and b"stopped by SIGTERM after" in err, err.decode()[-2000:]
    else:
        assert proc.returncode == -signal.SIGKILL
    again = naslid(*args)
    out, err = again.communicate()
    assert again.returncode == 0, err.decode()[-2000:]
    return subprocess.CompletedProcess(args, 0, out, err)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("preempt")
    (root / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    clean = naslid("pretrain", "--config", root / "c.yaml", "--out", root / "clean.pt", "--metrics", root / "clean.json")
    assert clean.wait() == 0
    return root


def epochs_done(metrics):
    def done():
        try:
            return json.loads(metrics.read_text())["epochs_done"]
        except (FileNotFoundError, json.JSONDecodeError):
            return 0
    return done


def same_checkpoint(a, b):
    a, b = torch.load(a), torch.load(b)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    strip = lambda m: [{k: v for k, v in r.items() if k != "seconds"} for r in m]
    assert strip(a["metrics"]) == strip(b["metrics"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_pretrain_interrupted_and_resumed_equals_an_uninterrupted_run(setup, sig, tmp_path):
    args = ["pretrain", "--config", setup / "c.yaml", "--out", tmp_path / "s.pt", "--metrics", tmp_path / "m.json"]
    result = interrupt(args, epochs_done(tmp_path / "m.json"), 5, sig)
    assert b"resuming" in result.stderr
    same_checkpoint(setup / "clean.pt", tmp_path / "s.pt")
    assert not (tmp_path / "s.pt.resume").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_finetune_interrupted_and_resumed_equals_an_uninterrupted_run(setup, sig, tmp_path):
    def args(name):
        return ["finetune", "--config", setup / "c.yaml", "--parent", setup / "clean.pt",
                "--out", tmp_path / f"{name}.pt", "--metrics", tmp_path / f"{name}.json"]
    assert naslid(*args("clean")).wait() == 0
    interrupt(args("killed"), epochs_done(tmp_path / "killed.json"), 5, sig)
    same_checkpoint(tmp_path / "clean.pt", tmp_path / "killed.pt")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_evolve_interrupted_and_resumed_equals_an_uninterrupted_run(setup, sig, tmp_path):
    def args(name):
        return ["evolve", "--config", setup / "c.yaml", "--supernets", setup / "clean.pt", "--out", tmp_path / f"{name}.json"]

    def generations():
        try:
            return json.loads((tmp_path / "killed.json.resume").read_text())["state"]["generation"]
        except (FileNotFoundError, json.JSONDecodeError):
            return 0
    assert naslid(*args("clean")).wait() == 0
    interrupt(args("killed"), generations, 8, sig)
    clean, killed = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("clean", "killed"))
    for record in (clean, killed):
        record.pop("seconds", None)
    assert clean == killed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_train_final_interrupted_and_resumed_equals_an_uninterrupted_run(setup, sig, tmp_path):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"

    def args(name):
        return ["train-final", "--config", setup / "c.yaml", "--arch", arch, "--out", tmp_path / f"{name}.pt",
                "--metrics", tmp_path / f"{name}.json"]

    def epochs():
        try:
            return torch.load(tmp_path / "killed.pt.resume")["state"]["epoch"]
        except (FileNotFoundError, RuntimeError, EOFError):
            return 0
    assert naslid(*args("clean")).wait() == 0
    interrupt(args("killed"), epochs, 5, sig)
    clean, killed = (torch.load(tmp_path / f"{n}.pt") for n in ("clean", "killed"))
    assert all(torch.equal(clean["state_dict"][k], killed["state_dict"][k]) for k in clean["state_dict"])
    results = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("clean", "killed")]
    for r in results:
        r.pop("train_seconds")
        r["metrics"] = [{k: v for k, v in m.items() if k != "seconds"} for m in r["metrics"]]
    assert results[0] == results[1] and not (tmp_path / "killed.pt.resume").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_build_benchmark_interrupted_and_resumed_equals_an_uninterrupted_run(setup, sig, tmp_path):
    archs = ["--archs", 3, 105, 777, 1651, 6111, 9930]

    def args(name):
        return ["build-benchmark", "--config", setup / "c.yaml", "--out", tmp_path / f"{name}.csv", *archs]
    assert naslid(*args("clean")).wait() == 0
    parts = tmp_path / "killed.csv.parts"
    interrupt(args("killed"), lambda: len(list(parts.glob("*-s0.json"))), 6, sig)
    assert (tmp_path / "clean.csv").read_text() == (tmp_path / "killed.csv").read_text()
    assert not parts.exists()


@pytest.mark.parametrize("criterion", ["lid", "gradient"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_profile_interrupted_and_resumed_equals_an_uninterrupted_run(setup, criterion, sig, tmp_path):
    """Profiling checkpoints after every batch group (all candidate ops on one batch), for LID
    profiles and gradient matching alike; two edges per job, so a resume can land in either."""
    batches = 8
    args = ["profile", "--config", setup / "c.yaml", "--set", f"split.criterion={criterion}",
            "--set", "lid.k=5", "--set", f"lid.batches={batches}", "--set", "lid.batch_size=64",
            "--set", f"gradient.batches={batches}", "--set", "gradient.batch_size=64",
            "--supernet", setup / "clean.pt", "--edge", 1, "--edge", 4]

    def batches_done():
        try:
            saved = torch.load(tmp_path / "killed.csv.resume", weights_only=False)
        except (FileNotFoundError, EOFError, RuntimeError):
            return 0
        return sum(done for done, _ in saved["edges"].values())
    assert naslid(*args, "--out", tmp_path / "clean.csv").wait() == 0
    result = interrupt([*args, "--out", tmp_path / "killed.csv"], batches_done, 2 * batches, sig)
    assert b"resuming" in result.stderr
    assert (tmp_path / "clean.csv").read_bytes() == (tmp_path / "killed.csv").read_bytes()
    assert not (tmp_path / "killed.csv.resume").exists()


def test_profile_resume_of_another_supernet_is_ignored(setup, tmp_path):
    """A resume file is trusted only by a job of the same config and supernet."""
    args = ["profile", "--config", setup / "c.yaml", "--set", "lid.k=5", "--set", "lid.batches=3",
            "--set", "lid.batch_size=32", "--edge", 0, "--out", tmp_path / "p.csv"]
    other = tmp_path / "other.pt"
    assert naslid("finetune", "--config", setup / "c.yaml", "--parent", setup / "clean.pt", "--epochs", 1,
                  "--out", other, "--metrics", tmp_path / "m.json").wait() == 0
    atomic_torch_save(tmp_path / "p.csv.resume", {"kind": "profile-resume", "fingerprint": "x", "edges": {0: (2, [])}})
    proc = naslid(*args, "--supernet", other)
    _, err = proc.communicate()
    assert proc.returncode == 0 and b"ignoring" in err
    batches = {line.split(",")[3] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]}
    assert batches == {"0", "1", "2"}  # trusting the file would have started at batch 2
