"""The docs name only what exists.

Every command, option, config key, module and repository file that README.md and the guides under
docs/ (and config/, containers/) name must exist in this checkout, and the `naslid --help` the README
shows must be the CLI's own. The checker returns messages instead of asserting, so a test can plant a
wrong option and watch it being found.
"""

from __future__ import annotations

import importlib
import itertools
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "config" / "README.md",
    REPO / "containers" / "README.md",
]
# Files that the commands shown create (they need not exist in a checkout).
CREATED = {"containers/naslid.sif", "report.html", "table.csv", "my_table.csv"}
FILE_SUFFIXES = (".json", ".yaml", ".csv", ".md", ".pt", ".py", ".png", ".tex", ".tsv", ".txt", ".gz", ".smk")
HELP_COLUMNS = "100"  # the width the README's help block was generated at


@cache
def config_defaults() -> dict:
    from naslid.config import load_config

    return load_config(None)


@cache
def stage_options(stage: str) -> set[str] | None:
    """The option strings `naslid <stage>` accepts; None for a stage that does not exist."""
    from naslid import stages
    from naslid.cli import build_parser

    if stage not in stages.NAMES:
        return None
    sub = next(a for a in build_parser(stage)._actions if a.dest == "stage")
    return {s for action in sub.choices[stage]._actions for s in action.option_strings}


@cache
def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (REPO / "Makefile").read_text(), re.M))


@cache
def snakemake_help() -> str:
    snakemake = Path(sys.executable).parent / "snakemake"
    return subprocess.run([str(snakemake), "--help"], capture_output=True, text=True).stdout


def code_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)


def prose(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def check_config_key(key: str) -> str | None:
    """None if `key` (dotted, maybe ending in `.*`) is a config key; else what is wrong."""
    node = config_defaults()
    parts = key.removesuffix(".*").split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            return f"config key {key!r} does not exist ({'.'.join(parts[: i + 1])!r} is no key of naslid/config.py)"
        node = node[part]
    return None


def check_path(token: str) -> str | None:
    """None unless `token` looks like a path inside the repository that does not exist."""
    token = token.strip("`'\",;:()[]{}").rstrip(".")
    if not token or "<" in token or token.startswith(("/", "http", ".")) or token in CREATED:
        return None
    top = token.split("/")[0]
    if (
        "/" not in token
        or not (REPO / top).exists()
        or top in ("results",)
        and not token.startswith("results/reference")
    ):
        return None
    braces = re.match(r"^(.*)\{([^}]*)\}(.*)$", token)
    candidates = [braces[1] + b + braces[3] for b in braces[2].split(",")] if braces else [token]
    for candidate in candidates:
        found = list(REPO.glob(candidate)) if "*" in candidate else [REPO / candidate]
        if not any(p.exists() for p in found):
            return f"file {candidate!r} does not exist in the repository"
    return None


def check_module(name: str) -> str | None:
    """None if a dotted `naslid.…` name is a module or an attribute of one."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attribute in parts[i:]:
            if not hasattr(obj, attribute):
                return f"{name!r}: {'.'.join(parts[:i])} has no {attribute!r}"
            obj = getattr(obj, attribute)
        return None
    return f"module {name!r} does not exist"


def check_command(words: list[str]) -> list[str]:
    """Problems with one shell command (its words, environment assignments and `nice` removed)."""
    while words and (re.match(r"^\w+=", words[0]) or words[0] in ("export", "nice", "-n", "19", "exec")):
        words = words[1:]
    if not words:
        return []
    program, args = Path(words[0]).name, words[1:]
    found = [p for w in words for p in [check_path(w)] if p]
    options = [a.split("=")[0].strip("[]") for a in args if a.startswith(("--", "[--"))]
    if program == "naslid" and args and not args[0].startswith("-"):
        accepted = stage_options(args[0])
        if accepted is None:
            return found + [f"naslid has no stage {args[0]!r}"]
        found += [f"naslid {args[0]} has no option {o}" for o in options if o not in accepted]
    elif program == "make":
        found += [f"the Makefile has no target {a!r}" for a in args if "=" not in a and a not in make_targets()]
    elif program == "snakemake":
        found += [
            f"snakemake has no option {o}" for o in options if not re.search(rf"\s{re.escape(o)}\b", snakemake_help())
        ]
    return found


def shell_lines(body: str):
    body = re.sub(r"\\\n", " ", body)
    for line in body.splitlines():
        line = re.sub(r"^\$ ", "", line.strip())
        line = re.sub(r"(^|\s)#.*$", "", line)  # a comment
        for command in re.split(r"&&|\|\||;|\|", line):
            try:
                yield shlex.split(command)
            except ValueError:
                yield command.split()


def problems(text: str) -> list[str]:
    """Everything in one document's text that names what does not exist."""
    found = []
    for lang, body in code_blocks(text):
        if lang in ("bash", "sh", "console"):
            for words in shell_lines(body):
                found += check_command(words)
        elif lang == "yaml":
            found += _yaml_problems(body)
        elif lang == "text" and body.startswith("$ naslid"):
            for words in shell_lines(body.splitlines()[0]):
                found += check_command(words)
    for span in re.findall(r"`([^`\n]+)`", prose(text)):
        found += _span_problems(span)
    return found


def _yaml_problems(body: str) -> list[str]:
    try:
        document = yaml.safe_load(body)
    except yaml.YAMLError:
        return []
    if not isinstance(document, dict) or not set(document) <= set(config_defaults()):
        return []  # not a naslid config (a profile, a catalog entry)
    keys = []

    def walk(node, prefix):
        for key, value in node.items():
            keys.append(prefix + str(key))
            if isinstance(value, dict) and isinstance(check_value(prefix + str(key)), dict):
                walk(value, prefix + str(key) + ".")

    def check_value(key):
        node = config_defaults()
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    walk(document, "")
    return [p for k in keys for p in [check_config_key(k)] if p]


def _span_problems(span: str) -> list[str]:
    span = span.strip()
    if span.startswith("naslid ") and not span.startswith("naslid <"):
        return [p for words in shell_lines(span) for p in check_command(words)]
    if span.startswith(("make ", "snakemake ")):
        return [p for words in shell_lines(span) for p in check_command(words)]
    if re.fullmatch(r"naslid(\.\w+)+", span):
        return [p for p in [check_module(span)] if p]
    key = re.fullmatch(r"([a-z_]+(?:\.[a-z_]+|\.\*)+)(?:[:=].*)?", span)
    if key and key[1].split(".")[0] in config_defaults() and not key[1].endswith(FILE_SUFFIXES):
        return [p for p in [check_config_key(key[1])] if p]
    return [p for word in span.split() for p in [check_path(word)] if p]


def help_block(text: str) -> str | None:
    block = next((body for lang, body in code_blocks(text) if body.startswith("$ naslid --help\n")), None)
    return None if block is None else block.split("\n", 1)[1]


# ---- the tests ----


def test_the_docs_name_only_commands_options_keys_and_files_that_exist():
    found = {doc.relative_to(REPO).as_posix(): problems(doc.read_text()) for doc in DOCS}
    assert not {doc: p for doc, p in found.items() if p}, found


def test_the_checker_finds_a_planted_wrong_option_key_file_and_stage():
    readme = (REPO / "README.md").read_text()
    assert not problems(readme)
    planted = {
        "naslid split --config c.yaml --partitions 3 --out s.json": "naslid split has no option --partitions",
        "naslid prune --config c.yaml": "naslid has no stage 'prune'",
        "make tests": "the Makefile has no target 'tests'",
        "snakemake --cores 2 --config-file config/config.yaml": "snakemake has no option --config-file",
        "snakemake --configfile config/paper/nb201-cifar1000.yaml": "config/paper/nb201-cifar1000.yaml",
    }
    for line, message in planted.items():
        found = problems(readme + f"\n```bash\n{line}\n```\n")
        assert any(message in p for p in found), (line, found)
    for prose_line, message in {
        "Set `lid.neighbours` to 30.": "config key 'lid.neighbours' does not exist",
        "See `docs/tuning.md`.": "docs/tuning.md",
        "It calls `naslid.method.lid.estimate_everything`.": "has no 'estimate_everything'",
    }.items():
        assert any(message in p for p in problems(readme + "\n" + prose_line + "\n")), prose_line


def test_the_readme_shows_the_clis_own_help():
    shown = help_block((REPO / "README.md").read_text())
    assert shown is not None, "README.md has no ```text block starting with `$ naslid --help`"
    env = dict(os.environ, COLUMNS=HELP_COLUMNS)
    naslid = Path(sys.executable).parent / "naslid"
    actual = subprocess.run([str(naslid), "--help"], capture_output=True, text=True, env=env).stdout
    assert shown == actual, "README.md's `naslid --help` block is not the CLI's: paste `COLUMNS=100 naslid --help`"


def test_every_stage_is_in_the_cli_help_in_pipeline_order():
    from naslid import stages

    listed = re.findall(r"^    (\S+)", help_block((REPO / "README.md").read_text()), re.M)
    assert listed == list(stages.NAMES)
    assert list(itertools.islice(stages.NAMES, 4)) == ["pretrain", "profile", "split", "finetune"]
