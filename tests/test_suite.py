"""The test suite's own machinery: what `make test` relies on to run in parallel and share work."""

import re
import subprocess

from conftest import PYTHON, REPO


def test_xdist_groups_keep_their_tests_on_one_worker(tmp_path):
    """`make test` runs `-n 2 --dist loadgroup`: the tests of one xdist_group (a shared run directory,
    a clean reference) must run in one worker. pytest 9.2 with pytest-xdist 3.8 silently drops the
    groups (xdist issue #1386): every module fixture was then built in both workers."""
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\n"
        "pytestmark = pytest.mark.xdist_group('shared')\n" + "".join(f"def test_{i}():\n    pass\n" for i in range(6))
    )
    (tmp_path / "test_free.py").write_text("".join(f"def test_{i}():\n    pass\n" for i in range(6)))
    out = subprocess.run(
        [PYTHON, "-m", "pytest", "-v", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-2000:]
    workers = {
        worker for worker, name in re.findall(r"\[(gw\d)\] .* PASSED (\S+)", out.stdout) if "test_grouped" in name
    }
    assert len(workers) == 1, out.stdout[-2000:]


def test_the_fast_and_the_slow_tier_together_are_the_whole_suite():
    """`make test` (-m "not slow") and the slow tests are disjoint and add up to `make test-all`;
    conftest refuses a slow mark without its reason."""

    def collected(*args):
        out = subprocess.run(
            [PYTHON, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return {line for line in out.stdout.splitlines() if "::" in line}

    everything, fast, slow = collected(), collected("-m", "not slow"), collected("-m", "slow")
    assert fast and slow and not fast & slow and fast | slow == everything
    assert re.search(r'-m "not slow"', (REPO / "Makefile").read_text())  # the fast tier is what make test runs


def test_a_slow_mark_without_its_reason_is_refused(tmp_path):
    (tmp_path / "conftest.py").write_text(  # the suite's own hook, loaded from its file
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('suite_conftest', {str(REPO / 'tests' / 'conftest.py')!r})\n"
        "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
        "pytest_collection_modifyitems = module.pytest_collection_modifyitems\n"
    )
    (tmp_path / "test_x.py").write_text("import pytest\n@pytest.mark.slow\ndef test_x():\n    pass\n")
    out = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_x.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "slow tests without a reason" in out.stdout + out.stderr
