"""config/README.md describes every config section, and says truly which stages read each one."""

import re

from conftest import REPO
from naslid import stages
from naslid.config import DEFAULTS
from naslid.method.criteria import CRITERIA

README = (REPO / "config" / "README.md").read_text()
TOP = [k for k, v in DEFAULTS.items() if not isinstance(v, dict)]
SECTIONS = [k for k, v in DEFAULTS.items() if isinstance(v, dict)]


def described() -> dict[str, str]:
    """Heading -> text of each `## ` section of the README."""
    parts = re.split(r"^## (.+)$", README, flags=re.M)[1:]
    return dict(zip(parts[::2], parts[1::2]))


def declared_readers(keys: list[str]) -> set[str]:
    """The stages whose declared reads touch any of `keys` (a section or top-level key), or whose
    criterion does (profile and split read the section of the experiment's criterion)."""

    def touches(reads):
        return any(r == k or r.startswith(k + ".") or k.startswith(r + ".") for r in reads for k in keys)

    readers = {name for name in stages.NAMES if touches(set(stages.get(name).reads) - set(stages.SET_PER_JOB))}
    if any(touches(c.reads) for c in CRITERIA.values()):
        readers |= {name for name in stages.NAMES if stages.get(name).criterion_reads}
    return readers


def test_every_section_of_the_config_is_described_with_each_of_its_keys():
    sections = described()
    assert list(sections) == ["top level", *SECTIONS]
    for name, text in sections.items():
        keys = TOP if name == "top level" else list(DEFAULTS[name])
        missing = [k for k in keys if f"`{k}`" not in text]
        assert not missing, f"config/README.md's section {name} does not name {missing}"


def test_each_sections_read_by_line_is_the_stages_that_declare_it():
    for name, text in described().items():
        line = re.search(r"^Read by: (.+)$", text, re.M).group(1)
        said = (
            set()
            if line == "none"
            else {re.sub(r"\s*\(.*\)", "", s).strip() for s in re.split(r",\s*(?![^(]*\))", line)}
        )
        assert said == declared_readers(TOP if name == "top level" else [name]), name
