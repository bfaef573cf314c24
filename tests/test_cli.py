"""The CLI: every stage listed, one clear error line for user mistakes, no partial output."""

import json
import subprocess

import pytest

from conftest import PYTHON, REPO


def naslid(*args):
    return subprocess.run([PYTHON, "-m", "naslid.cli", *map(str, args)], capture_output=True, text=True, cwd=REPO)


def test_help_lists_every_stage():
    from naslid.stages import NAMES

    out = naslid("--help")
    assert out.returncode == 0
    for name in NAMES:
        assert name in out.stdout
    assert {"pretrain", "finetune", "profile", "split"} <= set(NAMES)


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
    out = naslid(
        "finetune",
        "--config",
        REPO / "config" / "config.yaml",
        "--parent",
        ckpt,
        "--out",
        tmp_path / "c.pt",
        "--metrics",
        tmp_path / "m.json",
    )
    assert out.returncode == 2 and "corrupt or truncated" in out.stderr
    assert not (tmp_path / "c.pt").exists()


TINY = "space: {C: 4, N: 1}\ndata: {limit: 256, augment: false}\nlid: {k: 5, batches: 1, batch_size: 32}\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A tiny config, an untrained supernet checkpoint, a split JSON with two children, and corrupt
    files in the place of a profile table, a split JSON and a search result."""
    from naslid.config import load_config
    from naslid.io import atomic_torch_save
    from naslid.spaces.nb201.encoding import full_mask, mask_to_lists
    from naslid.spaces.checkpoint import build_supernet, supernet_checkpoint

    root = tmp_path_factory.mktemp("cli_inputs")
    (root / "c.yaml").write_text(TINY)
    config = load_config(root / "c.yaml")
    atomic_torch_save(root / "s.pt", supernet_checkpoint(build_supernet(config, 10), config, []))
    halves = [full_mask(), full_mask()]
    halves[0][0, 1:], halves[1][0, :1] = False, False
    (root / "split.json").write_text(
        json.dumps(
            {
                "children": [{"id": str(i), "mask": mask_to_lists(m), "nonlinear": None} for i, m in enumerate(halves)],
                "config": config,
            }
        )
    )
    (root / "profile.csv").write_text("id,edge,op,score\n,1<-0,none,3\n")
    (root / "garbage.json").write_text("{not json")
    (root / "no_best.json").write_text(json.dumps({"kind": "evolve", "best": []}))
    return root


CLI_ROWS = [  # (name, arguments, fragment of the one error line); {in} is the inputs folder, {out} the outputs'
    (
        "--set without '='",
        "pretrain --set train.epochs --out {out}/s.pt --metrics {out}/m.json",
        "--set expects KEY=VALUE with a dotted key",
    ),
    (
        "--set value not YAML",
        "pretrain --set train.epochs=[3 --out {out}/s.pt --metrics {out}/m.json",
        "the value is not valid YAML",
    ),
    (
        "--set unknown key",
        "pretrain --set train.epochz=3 --out {out}/s.pt --metrics {out}/m.json",
        "unknown config key 'train.epochz'",
    ),
    (
        "--edge out of range",
        "profile --supernet {in}/s.pt --edge 6 --out {out}/p.csv",
        "--edge 6 does not exist; this space's edges are 0..5",
    ),
    ("--edge negative", "profile --supernet {in}/s.pt --edge -1 --out {out}/p.csv", "--edge -1 does not exist"),
    (
        "--child out of range",
        "finetune --parent {in}/s.pt --split {in}/split.json --child 2 --out {out}/f.pt --metrics {out}/m.json",
        "has children 0..1; --child 2 does not exist",
    ),
    (
        "--child without --split",
        "finetune --parent {in}/s.pt --child 0 --out {out}/f.pt --metrics {out}/m.json",
        "--child needs --split",
    ),
    (
        "corrupt profile table",
        "split --supernet {in}/s.pt --profiles {in}/profile.csv --out {out}/split.json",
        "is not a profile table of this criterion",
    ),
    (
        "corrupt split JSON",
        "finetune --parent {in}/s.pt --split {in}/garbage.json --child 0 --out {out}/f.pt --metrics {out}/m.json",
        "split JSON {in}/garbage.json is not valid JSON",
    ),
    (
        "corrupt search result",
        "train-final --evolve {in}/garbage.json --out {out}/f.pt --metrics {out}/m.json",
        "search result {in}/garbage.json is not valid JSON",
    ),
    (
        "search result without a best architecture",
        "train-final --evolve {in}/no_best.json --out {out}/f.pt --metrics {out}/m.json",
        "is not a search result with a 'best' list",
    ),
    ("corrupt search result to query", "query --evolve {in}/garbage.json --out {out}/q.json", "is not valid JSON"),
]


@pytest.mark.parametrize("name, arguments, fragment", CLI_ROWS, ids=[r[0] for r in CLI_ROWS])
def test_bad_command_line_input_is_one_error_line_and_no_output(inputs, tmp_path, name, arguments, fragment):
    stage, *rest = arguments.format(**{"in": inputs, "out": tmp_path / "out"}).split()
    out = naslid(stage, "--config", inputs / "c.yaml", *rest)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
    assert lines[0].startswith(f"naslid {stage}: error: ") and fragment.format(**{"in": inputs}) in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_a_list_flag_replaces_its_default_and_needs_a_value_unless_declared_empty():
    """`--sizes 16` is [16], not the default [32, 64] with 16 appended (argparse's extend would);
    `--edge` alone is a usage error; `--profiles` alone is an empty list (a split that measures nothing)."""
    from naslid.cli import _namespace, build_parser
    from naslid.stages import get

    def parsed(stage, *argv):
        args = build_parser(stage).parse_args([stage, "--config", "c.yaml", *argv])
        return _namespace(args, get(stage).inputs)

    assert parsed("cost", "--supernet", "s.pt", "--out", "c.json").sizes == [32, 64]
    assert parsed("cost", "--supernet", "s.pt", "--sizes", "16", "--out", "c.json").sizes == [16]
    assert parsed("profile", "--supernet", "s.pt", "--edge", "1", "--edge", "4", "--out", "p.csv").edge == [1, 4]
    assert parsed("split", "--supernet", "s.pt", "--profiles", "--out", "s.json").profiles == []
    with pytest.raises(SystemExit):
        parsed("profile", "--supernet", "s.pt", "--edge", "--out", "p.csv")
