"""The container definitions, checked fast: the Dockerfile lints clean and takes its base, torch variant
and package index as build arguments; the Apptainer definition builds from the Docker image. The image
itself is built and run by scripts/container-check.sh (minutes; .ci/run runs it after the tests)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path


from conftest import REPO

DOCKERFILE = REPO / "containers" / "Dockerfile"
DEFINITION = REPO / "containers" / "naslid.def"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    out = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (instruction, arguments), continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [tuple(line.split(maxsplit=1)) for line in joined.splitlines() if line.strip()]


def test_dockerfile_takes_base_torch_variant_and_package_index_as_build_arguments():
    steps = instructions()
    args = dict((a.split("=", 1) + [""])[:2] for key, a in steps if key == "ARG")
    assert args["BASE"] == "python:3.11-slim" and args["TORCH"] == "cuda"
    assert steps[0] == ("ARG", "BASE=python:3.11-slim") and steps[1] == ("FROM", "${BASE}")
    env = " ".join(a for key, a in steps if key == "ENV")
    for pip_setting in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT"):
        assert args[pip_setting] == ""  # no default: the index is the builder's, never the repository's
        assert pip_setting not in env  # nor kept in the image


def test_the_cuda_variant_installs_the_lock_with_the_registrys_torch_of_the_locked_version():
    """TORCH=cuda rewrites the lock's torch==X+cpu to torch===X (exactly X, the registry's Linux wheel:
    the CUDA build; torch==X would also match X+cpu); TORCH=cpu installs the lock as it is. The sed
    expression is applied here as the build does."""
    text = DOCKERFILE.read_text()
    lock = (REPO / "requirements.lock").read_text()
    expression = re.search(r"cuda\) sed -E '(s/.+/)' requirements\.lock", text).group(1)
    out = subprocess.run(["sed", "-E", expression], input=lock, capture_output=True, text=True, check=True).stdout
    locked = re.search(r"^torch==([\d.]+)\+cpu$", lock, re.M).group(1)
    assert f"\ntorch==={locked}\n" in out and "+cpu" not in out
    assert out.replace(f"torch==={locked}\n", "") == lock.replace(f"torch=={locked}+cpu\n", "")
    assert "cpu) cp requirements.lock /tmp/requirements.txt" in text
    assert "sys.exit(cuda != (sys.argv[1] == 'cuda'))" in text  # the build fails on the wrong variant


def test_dockerfile_runs_naslid_from_a_venv_as_non_root():
    text = DOCKERFILE.read_text()
    assert "python3 -m venv /opt/naslid/venv" in text and "PATH=/opt/naslid/venv/bin:$PATH" in text
    assert re.search(r"^USER (?!0\b|root\b)\S+", text, re.M)
    assert 'ENTRYPOINT ["naslid"]' in text


def test_apptainer_definition_builds_from_the_docker_image():
    """The definition's From: is the Docker image (a build argument), whose default is the name and the
    version the Dockerfile's header and the README tag the image with."""
    text = DEFINITION.read_text()
    header = dict(re.findall(r"^(Bootstrap|From):\s*(.+)$", text, re.M))
    assert header["Bootstrap"] == "docker" and header["From"] == "{{ IMAGE }}"
    image = re.search(r"^%arguments\n\s+IMAGE=(\S+)$", text, re.M).group(1)
    assert image.endswith(f"/naslid:{VERSION}")
    assert f"-t ghcr.io/<you>/naslid:{VERSION} ." in DOCKERFILE.read_text()
    assert (
        f"--build-arg IMAGE=ghcr.io/<you>/naslid:{VERSION} containers/naslid.sif containers/naslid.def"
        in (REPO / "README.md").read_text()
    )
    assert re.search(rf"org\.opencontainers\.image\.version {re.escape(VERSION)}$", text, re.M)
    sections = set(re.findall(r"^%(\w+)", text, re.M))
    assert {"arguments", "runscript", "test", "labels", "environment"} <= sections
    assert 'exec naslid "$@"' in text


def test_the_workflow_takes_its_container_from_the_config():
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r'^container: NASLID\["workflow"\]\["container"\]', common, re.M)


def test_ci_runs_the_container_check_after_the_tests():
    lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines.index("make test-all") < next(
        i for i, line in enumerate(lines) if "scripts/container-check.sh" in line
    )
    assert subprocess.run(["bash", "-n", str(REPO / "scripts" / "container-check.sh")]).returncode == 0


def test_the_container_check_runs_the_workflow_tests_tiny_config():
    """One tiny experiment for every workflow test: the container check copies the file the tests read."""
    from conftest import TEST_CONFIGS

    script = (REPO / "scripts" / "container-check.sh").read_text()
    assert TEST_CONFIGS == REPO / ".test" / "tiny"
    assert 'cp "$REPO/.test/tiny/tiny.yaml" "$REPO/.test/tiny/table.csv"' in script
