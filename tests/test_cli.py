"""The CLI: every stage listed, one clear error line for user mistakes, no partial output."""

import subprocess

from conftest import PYTHON, REPO


def naslid(*args):
    return subprocess.run([PYTHON, "-m", "naslid.cli", *map(str, args)], capture_output=True, text=True, cwd=REPO)


def test_help_lists_every_stage():
    from naslid.cli import STAGES
    out = naslid("--help")
    assert out.returncode == 0
    for name in STAGES:
        assert name in out.stdout
    assert {"pretrain", "finetune", "profile", "split"} <= set(STAGES)


def test_user_error_is_one_line_and_leaves_nothing(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("train: {epochs: -3}\n")
    out = naslid("pretrain", "--config", bad, "--out", tmp_path / "o" / "s.pt", "--metrics", tmp_path / "o" / "m.json")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["naslid pretrain: error: config key 'train.epochs' must be >= 0, got -3"]
    assert not (tmp_path / "o").exists()


def test_missing_dataset_directory_names_path_and_layout(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {{dataset: cifar10, root: {tmp_path / 'nodata'}}}\n")
    out = naslid("pretrain", "--config", cfg, "--out", tmp_path / "s.pt", "--metrics", tmp_path / "m.json")
    assert out.returncode == 2
    assert "cifar-10-batches-py does not exist" in out.stderr and "data_batch_1..5" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_named(tmp_path):
    ckpt = tmp_path / "s.pt"
    ckpt.write_bytes(b"\x80\x02 truncated")
    out = naslid("finetune", "--config", REPO / "config" / "config.yaml", "--parent", ckpt,
                 "--out", tmp_path / "c.pt", "--metrics", tmp_path / "m.json")
    assert out.returncode == 2 and "corrupt or truncated" in out.stderr
    assert not (tmp_path / "c.pt").exists()
