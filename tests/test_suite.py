"""The test suite's own machinery: what `make test` relies on to run in parallel and share work."""

import re
import subprocess

from conftest import PYTHON


def test_xdist_groups_keep_their_tests_on_one_worker(tmp_path):
    """`make test` runs `-n 2 --dist loadgroup`: the tests of one xdist_group (a shared run directory,
    a clean reference) must run in one worker. pytest 9.2 with pytest-xdist 3.8 silently drops the
    groups (xdist issue #1386): every module fixture was then built in both workers."""
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\n"
        "pytestmark = pytest.mark.xdist_group('shared')\n"
        + "".join(f"def test_{i}():\n    pass\n" for i in range(6)))
    (tmp_path / "test_free.py").write_text("".join(f"def test_{i}():\n    pass\n" for i in range(6)))
    out = subprocess.run([PYTHON, "-m", "pytest", "-v", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:]
    workers = {worker for worker, name in re.findall(r"\[(gw\d)\] .* PASSED (\S+)", out.stdout) if "test_grouped" in name}
    assert len(workers) == 1, out.stdout[-2000:]
