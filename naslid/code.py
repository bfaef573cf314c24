"""The naslid source files a stage runs: its module's import closure within the package.

The workflow makes these files a rule's inputs, so editing any module a stage imports (at the top
or inside a function, where naslid imports what only some paths need) reruns that stage, and no
list of them is kept by hand. Read from the source text (`ast`), without importing anything.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def module_file(name: str, root: Path = PACKAGE) -> Path | None:
    """The file of module `naslid.<...>` under `root` (a package's __init__.py), or None."""
    parts = name.split(".")[1:]
    candidates = [root.joinpath(*parts, "__init__.py")]
    if parts:
        candidates.insert(0, root.joinpath(*parts[:-1], parts[-1] + ".py"))
    return next((c for c in candidates if c.is_file()), None)


def _imported(path: Path, name: str) -> frozenset[str]:
    """The naslid modules one file imports, anywhere in it (a `from naslid.x import y` counts y when
    y is a module, and x always: importing y runs x's __init__ first)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return _imports_in(path.read_text(), str(path), package)


@functools.cache  # a Snakefile asks for one closure per rule, and they share most files: parse each once
def _imports_in(source: str, filename: str, package: str) -> frozenset[str]:
    found = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package upwards
                base = ".".join(filter(None, [package.rsplit(".", node.level - 1)[0], base]))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    # every package above a module runs on its import
    with_parents = {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 2)}
    return frozenset(m for m in with_parents if m == "naslid" or m.startswith("naslid."))


def closure(*modules: str, root: Path = PACKAGE) -> list[str]:
    """Paths, relative to the repository (`naslid/...`), of every naslid file the given modules
    (`naslid.method.rsps`, or short: `train`, `space.nb201`) import, transitively, themselves included."""
    todo = [m if m.startswith("naslid") else f"naslid.{m}" for m in modules]
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name, root)
        if path is None:
            if name in modules or name.removeprefix("naslid.") in modules:
                raise ValueError(f"no module {name} under {root}")
            continue  # a name imported from a module, not a module
        seen[name] = path
        todo.extend(_imported(path, name) - set(seen))
    return sorted(f"naslid/{p.relative_to(root).as_posix()}" for p in seen.values())
