"""Atomic outputs and checked loading.

Every file a stage declares is written under a temporary name in the same directory and renamed
into place, so a reader never sees half a file and a failed write leaves the old file (or none).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

from naslid.errors import CheckpointError, NaslidError


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes files private; outputs get the usual mode
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise NaslidError(
            f"could not write {path}: {err.strerror or err}; free space or pick another output path"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(path: str | Path, obj) -> Path:
    buffer = io.BytesIO()
    import torch  # here, not at the top: the stages that write no checkpoint start without torch

    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, kind: str) -> dict:
    """Load a naslid checkpoint and check it is of `kind` (e.g. 'supernet')."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; run the stage that writes it first")
    try:
        import torch

        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(err).__name__}); "
            "delete it and rerun the stage that writes it"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != kind:
        raise CheckpointError(f"{path} is not a naslid {kind} checkpoint; pass the output of the stage that writes one")
    return ckpt


def load_json(path: str | Path, what: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise NaslidError(f"{what} {path} does not exist; run the stage that writes it first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NaslidError(
            f"{what} {path} is not valid JSON ({err}); delete it and rerun the stage that writes it"
        ) from None
