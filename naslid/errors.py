"""Errors a user can cause. The CLI reports them once, by message, and exits non-zero.

Every message names what is wrong and how to fix it; `assert` stays for our own invariants.
"""


class NaslidError(Exception):
    """Base class of user-facing errors (bad config, paths, arch strings, files, arguments)."""


class ConfigError(NaslidError):
    """The configuration has an unknown key, a wrong type or an out-of-range value."""


class ArchError(NaslidError, ValueError):
    """An architecture string or mask that does not describe a valid architecture."""


class DataError(NaslidError):
    """A dataset directory or file is missing or malformed."""


class CheckpointError(NaslidError):
    """A checkpoint or result file is missing, truncated or of the wrong kind."""


class TrainingError(NaslidError):
    """Training diverged (NaN/inf loss) or asked for a device that is absent."""


class BenchmarkError(NaslidError):
    """A benchmark file is missing or malformed, or an architecture is not in it."""
