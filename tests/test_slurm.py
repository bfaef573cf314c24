"""The workflow through Snakemake's SLURM executor on a real single-node SLURM, and the cluster
profile's plan for a paper experiment.

The SLURM is Debian's slurm-wlm, installed and started by scripts/local-slurm.sh (root and apt-get
needed; the test is skipped, saying so, only on a machine that has neither SLURM nor the means to
install it).
"""

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, TINY, run_snakemake, same_json, workflow_copy

# Under pytest-xdist one worker starts the one local SLURM cluster.
pytestmark = pytest.mark.xdist_group("slurm")

SCRIPT = REPO / "scripts" / "local-slurm.sh"


@pytest.fixture(scope="module")
def slurm():
    can_install = os.geteuid() == 0 and shutil.which("apt-get")
    if not (shutil.which("slurmctld") or can_install):
        pytest.skip("no SLURM here and no way to install it (needs root and apt-get for slurm-wlm and munge)")
    start = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
    assert start.returncode == 0, start.stderr
    yield
    stop = subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True)
    assert stop.returncode == 0, stop.stderr
    # Stopped means gone: a SLURM client (the slurm plugin at every Snakemake start) fails at once.
    started = time.monotonic()
    subprocess.run(["scontrol", "show", "config"], capture_output=True)
    assert time.monotonic() - started < 2, "scontrol still waits for the stopped controller"


def _watch_squeue(seen: set, stop: threading.Event):
    """Collect the names and comments of the jobs SLURM lists while the workflow runs."""
    while not stop.is_set():
        out = subprocess.run(["squeue", "-h", "-o", "%i|%j|%k|%T"], capture_output=True, text=True)
        seen.update(line for line in out.stdout.splitlines() if line.strip())
        time.sleep(0.2)


@pytest.mark.slow(reason="starts a real single-node SLURM and runs the workflow on it (400 s)")
def test_the_workflow_runs_through_slurm_with_the_same_outputs_as_locally(slurm, tiny_run, tmp_path):
    """The session's tiny run, its lid and none experiments again as SLURM jobs: the same results."""
    on_slurm = workflow_copy(tmp_path, TINY)
    seen: set = set()
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_squeue, args=(seen, stop), daemon=True)
    watcher.start()
    try:
        out = run_snakemake(
            on_slurm, "--profile", "workflow/profiles/slurm-local", "--configfile", "tiny.yaml", "slurm.yaml"
        )
    finally:
        stop.set()
        watcher.join()
    assert out.returncode == 0, out.stderr[-4000:]
    log = out.stdout + out.stderr
    assert re.search(r"SLURM jobid \d+|Job \d+ has been submitted with SLURM jobid", log), log[-2000:]
    # Every stage was a SLURM job that squeue listed while it was pending or running.
    comments = " ".join(seen)
    for rule in ("pretrain", "profile", "split", "finetune", "evolve", "query", "rank", "cost", "tables"):
        assert f"rule_{rule}" in comments, f"no {rule} job seen in squeue: {sorted(seen)[:10]}"

    a, b = tiny_run / "results" / "tiny", on_slurm / "results" / "tiny"
    for result in (
        "lid/s0/split/r",
        "lid/s0/evolve",
        "lid/s0/rank",
        "lid/s0/query",
        "none/s0/evolve",
        "none/s0/rank",
        "none/s0/query",
    ):
        same_json(a / f"{result}.json", b / f"{result}.json", "seconds", "config")  # config: its criteria list differs
    rows = [pd.read_csv(r / "tables/table2.csv").set_index("criterion").loc[["lid", "none"]] for r in (a, b)]
    # The cluster ran two criteria, the local run five: their Δτ vs random, and Holm's family, differ.
    shared = [c for c in rows[1].columns if not c.endswith("_holm")]
    pd.testing.assert_frame_equal(rows[0][shared], rows[1][shared])
    assert (b / "tables/table3.md").stat().st_size > 0 and (b / "figures/fig5.png").is_file()


def _dry_run_jobs(text: str) -> dict[str, list[dict]]:
    """Rule -> the resources of each planned job, from a dry run's job listing (grouped jobs indented)."""
    jobs: dict[str, list[dict]] = {}
    rule = None
    for line in text.splitlines():
        if match := re.match(r"^\s*(?:local)?rule (\w+):$", line):
            rule = match.group(1)
        elif (match := re.match(r"^\s+resources: (.*)$", line)) and rule:
            jobs.setdefault(rule, []).append(dict(item.split("=", 1) for item in match.group(1).split(", ")))
            rule = None
    return jobs


def _dataset_placeholders(root: Path, config: str) -> None:
    """Empty stand-ins for the files a paper config reads (its dataset and train-final's): a dry run
    needs them to exist, as the workflow makes them inputs."""
    from naslid.config import load_config
    from naslid.data import dataset_files
    from naslid.stages.train_final import final_data

    config = load_config([root / config])
    cwd = os.getcwd()
    os.chdir(root)
    try:
        for data in (config["data"], final_data(config)):
            for path in dataset_files(data):
                if data["dataset"] == "imagenet":
                    path.mkdir(parents=True, exist_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.touch()
    finally:
        os.chdir(cwd)


@pytest.mark.slow(reason="plans the paper experiments' 1,300-job DAGs on the SLURM profile")
def test_the_cluster_profile_plans_a_paper_experiment_with_gpu_jobs_where_they_belong(tmp_path):
    for name in ("workflow", "config", "naslid"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("*.parts", "__pycache__"))
    _dataset_placeholders(tmp_path, "config/paper/nb201-cifar10.yaml")  # the paper config's dataset must exist
    # No Apptainer can be installed here: plan without a container engine (the profile's choice of
    # apptainer is checked below, from the profile itself).
    out = run_snakemake(
        tmp_path,
        "--profile",
        "workflow/profiles/slurm",
        "--configfile",
        "config/paper/nb201-cifar10.yaml",
        "-n",
        "--sdm",
        "env-modules",
        env={"NASLID_SLURM_ACCOUNT": "nas-lab", "NASLID_SLURM_GPU_PARTITION": "a100"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = _dry_run_jobs(out.stdout + out.stderr)
    counts = {rule: len(v) for rule, v in jobs.items()}
    # 3 seeds; lid, lid-pearson, gradient: 4 rounds (15 splits, 6 edges each, 16 finals, 14 between);
    # exhaustive: 1 split into 5; nonlinear-count: 1 split into 7; random: 4 rounds as lid, profiling
    # nothing; none: the supernet trained on.
    assert counts["pretrain"] == 3 and counts["profile"] == 3 * 3 * 15 * 6
    assert counts["split"] == 3 * (4 * 15 + 2) and counts["finetune_between"] == 3 * 4 * 14
    assert counts["finetune"] == 3 * (4 * 16 + 5 + 7) and counts["finetune_none"] == 3
    assert counts["evolve"] == counts["rank"] == counts["query"] == 3 * 7 and counts["tables"] == 1
    for rule in ("pretrain", "finetune", "finetune_between", "finetune_none", "profile", "evolve", "rank", "cost"):
        for job in jobs[rule]:
            assert job["gpu"] == "1" and job["slurm_partition"] == "a100" and job["cpus_per_gpu"] == "4", (rule, job)
            assert job["slurm_account"] == "nas-lab" and "--signal=TERM@300" in job["slurm_extra"]
    assert jobs["pretrain"][0]["runtime"] == "720" and jobs["pretrain"][0]["mem_mb"] == "16000"
    for rule in ("split", "query", "tables"):
        for job in jobs[rule]:
            assert job.get("gpu", "0") == "0" and job["slurm_partition"] == "cpu", (rule, job)

    profile = (REPO / "workflow/profiles/slurm/config.yaml").read_text()
    settings = yaml.safe_load(profile)
    assert settings["executor"] == "slurm" and settings["software-deployment-method"] == "apptainer"
    assert "--nv" in settings["apptainer-args"] and settings["rerun-incomplete"] is True and settings["retries"] >= 1


def test_a_job_that_asks_for_a_gpu_goes_to_the_gpu_partition_whatever_its_rule(tmp_path):
    """The partition follows each job's `gpu` resource (no list of rule names to keep): the default
    with one profiling job per sub-supernet and a GPU for profiling puts exactly those jobs on the GPU
    partition (the profile's old list lacked profile_sub_supernet, which landed on the CPU one)."""
    for name in ("workflow", "config", "naslid"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("*.parts", "__pycache__"))
    profile_on_gpu = {"threads": 1, "mem_mb": 2000, "runtime": 30, "gpu": 1}
    overlay = {"workflow": {"profile_jobs": "sub-supernet", "resources": {"profile": profile_on_gpu}}}
    (tmp_path / "gpu.yaml").write_text(yaml.safe_dump(overlay))
    out = run_snakemake(
        tmp_path,
        *("--profile", "workflow/profiles/slurm", "--configfile", "config/config.yaml", "gpu.yaml", "-n"),
        *("--sdm", "env-modules"),
        env={"NASLID_SLURM_GPU_PARTITION": "a100", "NASLID_SLURM_PARTITION": "short"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = _dry_run_jobs(out.stdout + out.stderr)
    assert "profile" not in jobs and len(jobs["profile_sub_supernet"]) > 0
    for job in jobs["profile_sub_supernet"]:
        assert (job["slurm_partition"], job["gpu"], job["cpus_per_gpu"]) == ("a100", "1", "4"), job
    for rule in ("pretrain", "split", "finetune", "rank", "evolve", "tables"):
        for job in jobs[rule]:
            assert job["slurm_partition"] == "short" and job["gpu"] == "0" and "cpus_per_gpu" not in job, (rule, job)


@pytest.mark.slow(reason="plans the paper experiments' DAGs on the SLURM profile")
def test_the_cluster_profile_plans_the_proxylessnas_paper_experiment(tmp_path):
    """config/paper/proxyless-imagenet.yaml: 21 layers, 2 rounds (4 sub-supernets), and each search's
    best trained on ImageNet in a GPU job; no query or rank (no benchmark tabulates the space)."""
    for name in ("workflow", "config", "naslid"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("*.parts", "__pycache__"))
    _dataset_placeholders(tmp_path, "config/paper/proxyless-imagenet.yaml")
    out = run_snakemake(
        tmp_path,
        "--profile",
        "workflow/profiles/slurm",
        "--configfile",
        "config/paper/proxyless-imagenet.yaml",
        "-n",
        "--sdm",
        "env-modules",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = _dry_run_jobs(out.stdout + out.stderr)
    counts = {rule: len(v) for rule, v in jobs.items()}
    # lid and gradient: 3 splits of 21 candidate layers each, 4 final sub-supernets; none: the supernet
    assert counts["profile"] == 2 * 3 * 21 and counts["split"] == 2 * 3 and counts["finetune"] == 2 * 4
    assert counts["evolve"] == counts["train_final"] == 3 and "query" not in counts and "rank" not in counts
    for job in jobs["train_final"]:
        assert job["gpu"] == "1" and job["slurm_partition"] == "gpu" and job["runtime"] == "4320"
