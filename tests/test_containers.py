"""The container definitions: the Dockerfile lints clean and pins the lock's torch; the Apptainer
definition has what a build needs; where a Docker engine runs, the image builds and answers --help."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

DOCKERFILE = REPO / "containers" / "Dockerfile"
DEFINITION = REPO / "containers" / "naslid.def"


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    out = subprocess.run([str(hadolint), "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_installs_the_locked_torch_as_its_cuda_build_and_runs_naslid_as_non_root():
    text = DOCKERFILE.read_text()
    locked = re.search(r"^torch==([\d.]+)", (REPO / "requirements.lock").read_text(), re.M).group(1)
    assert f"pip install torch=={locked}" in text  # the registry's Linux wheel: the CUDA build
    assert re.search(r"^USER (?!0\b|root\b)\S+", text, re.M)
    assert 'ENTRYPOINT ["naslid"]' in text


def test_apptainer_definition_has_the_fields_a_build_needs():
    text = DEFINITION.read_text()
    header = dict(re.findall(r"^(Bootstrap|From):\s*(.+)$", text, re.M))
    assert header["Bootstrap"] == "docker" and header["From"] == "{{ IMAGE }}"
    sections = set(re.findall(r"^%(\w+)", text, re.M))
    assert {"arguments", "runscript", "test", "labels", "environment"} <= sections
    assert re.search(r"^%arguments\n\s+IMAGE=\S+", text, re.M)
    assert 'exec naslid "$@"' in text


def test_the_workflow_takes_its_container_from_the_config():
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r'^container: NASLID\["workflow"\]\["container"\]', common, re.M)


def _docker_engine() -> bool:
    return shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_engine(), reason="no Docker engine runs here (the docker client alone cannot build)")
def test_the_image_builds_and_runs_naslid_help(tmp_path):
    tag = "naslid-test:latest"
    build = subprocess.run(["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(REPO)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run(["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "pretrain" in run.stdout
