"""Kill each long stage at a random point, restart it, and compare with an uninterrupted run.

SIGKILL: the process dies at once; the restart resumes from the last checkpoint. SIGTERM (what SLURM
sends before preemption or the time limit): the stage finishes its current unit, writes its
checkpoint and exits 143; the restart resumes. Either way the final weights, metrics, search result
and ground-truth table equal those of a run that was never interrupted (CPU, fixed seed). The kill
point is random: after a random number of finished units, plus a random part of the next one; the
draw is seeded per test (`NASLID_KILL_SEED`, default 27; each test prints its draw), so a failure
can be replayed. A deterministic stage restarted *from scratch* would end identical too, so every
test also asserts the restart's `resumed <stage> at <unit> k of n` line (`naslid.runtime.preempt.RESUMED`)
with k the units the checkpoint held after the kill (1 <= k < n), and, where the stage logs its
units (the trainings' per-epoch records), that it computed only the units after k.
"""

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import PYTHON, same_json
from naslid.io import atomic_torch_save
from naslid.runtime.preempt import RESUMED

CONFIG = {
    "space": {"C": 4, "N": 1},
    "threads": 1,
    "data": {"limit": 512, "augment": False},
    "train": {"epochs": 5, "batch_size": 32, "eval_batches": 1},
    "finetune": {"epochs": 5},
    "evaluate": {"batches": 2, "batch_size": 128},
    "evolve": {"generations": 8, "mutations": 3, "crossovers": 3, "randoms": 2, "parents": 3},
    "build_benchmark": {"epochs": 1, "seeds": 1, "workers": 2, "C": 4},
    "final": {"epochs": 5, "batch_size": 32},
}
KILL_SEED = int(os.environ.get("NASLID_KILL_SEED", "27"))
pytestmark = pytest.mark.slow(reason="kill and resume of every long stage (6 min of processes)")


def naslid(*args) -> subprocess.Popen:
    """The stage in a process group of its own: a signal goes to all its processes, as SLURM sends it."""
    return subprocess.Popen(
        [PYTHON, "-m", "naslid.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.fixture()
def rng(request):
    """The kill point's random draws, seeded per test: the same test draws the same point in any order."""
    return random.Random(f"{KILL_SEED}/{request.node.name}")


def interrupt(
    args, done, units: int, sig: int, rng: random.Random, running: int = 1
) -> tuple[subprocess.CompletedProcess, int]:
    """Start `naslid *args`, send `sig` once `done()` finished units reach a random count, plus a
    random moment of the next unit; wait for the process; then restart it to completion. The count
    leaves room for the `running` units SIGTERM lets finish and one more, so the restart has work
    left (a stage rightly just finishes its last unit). Returns the restart and k, the units its
    checkpoint held when it started (`done()` after the kill)."""
    after = rng.randint(1, units - 2 - running)
    print(f"kill with {signal.Signals(sig).name} after {after} of {units} units (NASLID_KILL_SEED={KILL_SEED})")
    proc = naslid(*args)
    deadline = time.time() + 300
    while done() < after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.1))
    assert proc.poll() is None, "the stage ended before the kill; the test must interrupt it mid-run"
    os.killpg(proc.pid, sig)
    _, err = proc.communicate()
    if sig == signal.SIGTERM:
        assert proc.returncode == 143 and b"stopped by SIGTERM after" in err, err.decode()[-2000:]
    else:
        assert proc.returncode == -signal.SIGKILL
    k = done()
    again = naslid(*args)
    out, err = again.communicate()
    assert again.returncode == 0, err.decode()[-2000:]
    return subprocess.CompletedProcess(args, 0, out, err), k


def assert_resumed(result, stage: str, unit: str, k: int, n: int, per_line: int | None = None) -> None:
    """The restart says it resumed `stage` at `unit` k of n: its `resumed` lines (one per checkpointed
    part: a profile's edges) add up to the k units the checkpoint held, with 1 <= k < n."""
    lines = RESUMED.findall(result.stderr.decode())
    assert lines, f"the restart did not resume from its checkpoint:\n{result.stderr.decode()[-2000:]}"
    assert {(s, u) for s, u, _, _ in lines} == {(stage, unit)}, lines
    assert {int(total) for *_, total in lines} == {per_line or n}, lines
    assert 1 <= k < n and sum(int(done) for _, _, done, _ in lines) == k, (k, n, lines)


def epochs_trained(result) -> list[int]:
    """The epochs a training run computed, from its per-epoch records on stderr."""
    return [json.loads(line)["epoch"] for line in result.stderr.decode().splitlines() if line.startswith('{"epoch"')]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("preempt")
    (root / "c.yaml").write_text(yaml.safe_dump(CONFIG))
    clean = naslid(
        "pretrain", "--config", root / "c.yaml", "--out", root / "clean.pt", "--metrics", root / "clean.json"
    )
    assert clean.wait() == 0
    return root


def epochs_done(out):
    """Epochs saved in a training's `<out>.resume` (what a restart resumes from)."""

    def done():
        try:
            return torch.load(f"{out}.resume", weights_only=False)["state"]["progress"]["done"]
        except (FileNotFoundError, RuntimeError, EOFError):
            return 0

    return done


@pytest.fixture(scope="module")
def clean(setup):
    """The uninterrupted reference runs, each computed once per module, when a test first asks for it:
    `clean(name, args)` runs `naslid *args(stem)` with outputs at `stem` (setup/<name>) and returns stem."""
    done = set()

    def reference(name, args):
        stem = setup / name
        if name not in done:
            proc = naslid(*args(stem))
            _, err = proc.communicate()
            assert proc.returncode == 0, err.decode()[-2000:]
            done.add(name)
        return stem

    return reference


def same_weights(a, b):
    a, b = torch.load(a), torch.load(b)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    return a, b


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_pretrain_interrupted_and_resumed_equals_an_uninterrupted_run(setup, sig, tmp_path, rng):
    args = ["pretrain", "--config", setup / "c.yaml", "--out", tmp_path / "s.pt", "--metrics", tmp_path / "m.json"]
    result, k = interrupt(args, epochs_done(tmp_path / "s.pt"), 5, sig, rng)
    assert_resumed(result, "train", "epoch", k, 5)
    assert epochs_trained(result) == list(range(k + 1, 6))  # the k epochs saved are not trained again
    same_weights(setup / "clean.pt", tmp_path / "s.pt")
    same_json(setup / "clean.json", tmp_path / "m.json")
    assert not (tmp_path / "s.pt.resume").exists()
    assert json.loads((tmp_path / "m.json").read_text())["epochs_done"] == 5


def finetune_args(setup):
    return lambda stem: [
        "finetune",
        "--config",
        setup / "c.yaml",
        "--parent",
        setup / "clean.pt",
        "--out",
        f"{stem}.pt",
        "--metrics",
        f"{stem}.json",
    ]


def evolve_args(setup):
    return lambda stem: [
        "evolve",
        "--config",
        setup / "c.yaml",
        "--supernets",
        setup / "clean.pt",
        "--out",
        f"{stem}.json",
    ]


@pytest.mark.xdist_group("preempt-evolve")  # one worker computes the clean reference
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_evolve_interrupted_and_resumed_equals_an_uninterrupted_run(setup, clean, sig, tmp_path, rng):
    def generations():
        try:
            return torch.load(tmp_path / "killed.json.resume", weights_only=False)["state"]["progress"]["generation"]
        except (FileNotFoundError, EOFError, RuntimeError):
            return 0

    reference = clean("evolve_clean", evolve_args(setup))
    result, k = interrupt(evolve_args(setup)(tmp_path / "killed"), generations, 8, sig, rng)
    assert_resumed(result, "evolve", "generation", k, 8)
    same_json(f"{reference}.json", tmp_path / "killed.json", "seconds")


FINAL_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def final_args(setup):
    return lambda stem: [
        "train-final",
        "--config",
        setup / "c.yaml",
        "--arch",
        FINAL_ARCH,
        "--out",
        f"{stem}.pt",
        "--metrics",
        f"{stem}.json",
    ]


TRAININGS = {"finetune": ("train", finetune_args), "train-final": ("train-final", final_args)}  # stage: (says, args)


@pytest.mark.parametrize(
    "stage", [pytest.param(stage, marks=pytest.mark.xdist_group(f"preempt-{stage}")) for stage in TRAININGS]
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_training_interrupted_and_resumed_equals_an_uninterrupted_run(setup, clean, stage, sig, tmp_path, rng):
    """Fine-tuning a sub-supernet and training the searched architecture (train-final): the restart
    resumes at epoch k and trains only epochs k+1..5; weights and metrics equal the clean run's."""
    says, args = TRAININGS[stage]
    reference = clean(f"{stage}_clean", args(setup))
    result, k = interrupt(args(setup)(tmp_path / "killed"), epochs_done(tmp_path / "killed.pt"), 5, sig, rng)
    assert_resumed(result, says, "epoch", k, 5)
    assert epochs_trained(result) == list(range(k + 1, 6))
    same_weights(f"{reference}.pt", tmp_path / "killed.pt")
    same_json(f"{reference}.json", tmp_path / "killed.json", "train_seconds")
    assert not (tmp_path / "killed.pt.resume").exists()


def build_args(setup):
    return lambda stem: [
        "build-benchmark",
        "--config",
        setup / "c.yaml",
        "--out",
        f"{stem}.csv",
        "--archs",
        3,
        105,
        777,
        1651,
        4242,
        6111,
        9930,
    ]


@pytest.mark.xdist_group("preempt-build-benchmark")  # one worker computes the clean reference
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_build_benchmark_interrupted_and_resumed_equals_an_uninterrupted_run(setup, clean, sig, tmp_path, rng):
    reference = clean("build_clean", build_args(setup))
    parts = tmp_path / "killed.csv.parts"
    # On SIGTERM the 2 workers finish the trainings they run, and start no new one.
    result, k = interrupt(
        build_args(setup)(tmp_path / "killed"), lambda: len(list(parts.glob("*-s0.json"))), 7, sig, rng, running=2
    )
    assert_resumed(result, "build-benchmark", "training", k, 7)
    assert Path(f"{reference}.csv").read_text() == (tmp_path / "killed.csv").read_text()
    assert not parts.exists()


PROFILE_BATCHES = 8


def profile_args(setup, criterion):
    return lambda stem: [
        "profile",
        "--config",
        setup / "c.yaml",
        "--set",
        f"split.criterion={criterion}",
        "--set",
        "lid.k=5",
        "--set",
        f"lid.batches={PROFILE_BATCHES}",
        "--set",
        "lid.batch_size=64",
        "--set",
        f"gradient.batches={PROFILE_BATCHES}",
        "--set",
        "gradient.batch_size=64",
        "--supernet",
        setup / "clean.pt",
        "--edge",
        1,
        "--edge",
        4,
        "--out",
        f"{stem}.csv",
    ]


@pytest.mark.xdist_group("preempt-profile")  # one worker computes the clean reference
@pytest.mark.parametrize("criterion", ["lid", "gradient"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_profile_interrupted_and_resumed_equals_an_uninterrupted_run(setup, clean, criterion, sig, tmp_path, rng):
    """Profiling checkpoints after batch groups (all candidate ops on one batch), for LID
    profiles and gradient matching alike; two edges per job, so a resume can land in either (one
    `resumed` line per edge begun: a finished first edge says 8 of 8, the second the rest)."""

    def batches_done():
        try:
            saved = torch.load(tmp_path / "killed.csv.resume", weights_only=False)
        except (FileNotFoundError, EOFError, RuntimeError):
            return 0
        state = saved["state"]
        return sum(done for done, _ in [*state["edges"].values(), *state["finished"].values()])

    reference = clean(f"profile_clean_{criterion}", profile_args(setup, criterion))
    result, k = interrupt(
        profile_args(setup, criterion)(tmp_path / "killed"), batches_done, 2 * PROFILE_BATCHES, sig, rng
    )
    assert_resumed(result, "profile", "batch", k, 2 * PROFILE_BATCHES, per_line=PROFILE_BATCHES)
    assert Path(f"{reference}.csv").read_bytes() == (tmp_path / "killed.csv").read_bytes()
    assert not (tmp_path / "killed.csv.resume").exists()


def values_done(resume):
    """Architectures saved in a rank or baselines job's resume file."""

    def done():
        try:
            return len(torch.load(resume, weights_only=False)["state"]["values"])
        except (FileNotFoundError, EOFError, RuntimeError):
            return 0

    return done


def estimate_args(setup, stage):
    supernets = ["--supernets", setup / "clean.pt"] if stage == "rank" else []
    return lambda stem: [stage, "--config", setup / "c.yaml", *supernets, "--out", f"{stem}.json"]


@pytest.mark.parametrize(
    "stage", [pytest.param(stage, marks=pytest.mark.xdist_group(f"preempt-{stage}")) for stage in ("rank", "baselines")]
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_estimates_interrupted_and_resumed_equal_an_uninterrupted_run(setup, clean, stage, sig, tmp_path, rng):
    """Ranking (the supernet's estimate of each of the table's 200 architectures) and the baselines
    (params, FLOPs, NASWOT of each) keep their values so far: the restart computes only the rest."""
    reference = clean(f"{stage}_clean", estimate_args(setup, stage))
    n = json.loads(Path(f"{reference}.json").read_text())["archs"]
    result, k = interrupt(
        estimate_args(setup, stage)(tmp_path / "killed"), values_done(tmp_path / "killed.json.resume"), n, sig, rng
    )
    assert_resumed(result, stage, "architecture", k, n)
    same_json(f"{reference}.json", tmp_path / "killed.json")
    assert not (tmp_path / "killed.json.resume").exists()


def test_profile_resume_of_another_supernet_is_ignored(setup, tmp_path):
    """A resume file is trusted only by a job of the same config and supernet."""
    args = [
        "profile",
        "--config",
        setup / "c.yaml",
        "--set",
        "lid.k=5",
        "--set",
        "lid.batches=3",
        "--set",
        "lid.batch_size=32",
        "--edge",
        0,
        "--out",
        tmp_path / "p.csv",
    ]
    other = tmp_path / "other.pt"
    assert (
        naslid(
            "finetune",
            "--config",
            setup / "c.yaml",
            "--parent",
            setup / "clean.pt",
            "--epochs",
            1,
            "--out",
            other,
            "--metrics",
            tmp_path / "m.json",
        ).wait()
        == 0
    )
    atomic_torch_save(
        tmp_path / "p.csv.resume",
        {"kind": "resume", "stage": "profile", "fingerprint": "x", "state": {"edges": {0: (2, [])}}},
    )
    proc = naslid(*args, "--supernet", other)
    _, err = proc.communicate()
    assert proc.returncode == 0 and b"ignoring" in err
    batches = {line.split(",")[3] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]}
    assert batches == {"0", "1", "2"}  # trusting the file would have started at batch 2


@pytest.mark.parametrize(
    "stage",
    [
        "pretrain",
        pytest.param("evolve", marks=pytest.mark.xdist_group("preempt-evolve")),
        pytest.param("train-final", marks=pytest.mark.xdist_group("preempt-train-final")),
    ],
)
def test_a_stale_resume_file_is_ignored_and_the_run_starts_over(setup, clean, stage, tmp_path):
    """A resume file of another run (another config, supernet or architecture: its fingerprint differs)
    is reported as ignored and not used: the stage starts from scratch and ends as the clean run. The
    stale file claims units done (epoch 3, generation 5), which a stage trusting it would skip."""
    killed = tmp_path / "killed"
    if stage == "evolve":
        reference, args = clean("evolve_clean", evolve_args(setup)), evolve_args(setup)(killed)
        resume = tmp_path / "killed.json.resume"
        atomic_torch_save(
            resume,
            {
                "kind": "resume",
                "stage": "evolve",
                "fingerprint": "another run",
                "state": {"progress": {"generation": 5, "evaluated": []}, "rng": None},
            },
        )
    else:
        if stage == "pretrain":
            reference = setup / "clean"
            args = ["pretrain", "--config", setup / "c.yaml", "--out", f"{killed}.pt", "--metrics", f"{killed}.json"]
        else:
            reference, args = clean("train-final_clean", final_args(setup)), final_args(setup)(killed)
        resume = tmp_path / "killed.pt.resume"
        atomic_torch_save(
            resume,
            {
                "kind": "resume",
                "stage": stage,
                "fingerprint": "another run",
                "state": {"progress": {"done": 3, "metrics": []}},
            },
        )
    run = naslid(*args)
    _, err = run.communicate()
    assert run.returncode == 0, err.decode()[-2000:]
    assert b"ignoring" in err and not RESUMED.findall(err.decode())
    if stage == "evolve":
        same_json(f"{reference}.json", f"{killed}.json", "seconds")
    else:
        same_weights(f"{reference}.pt", f"{killed}.pt")
    assert not resume.exists()
