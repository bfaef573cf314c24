"""The NAS-Bench-201 search space: ops, edges, architecture strings, the official index, masks.

A cell has 4 nodes; node j sums op_{j<-i}(node i) over i < j, giving 6 edges in NB201's order
(`EDGES`). An architecture picks one of the 5 `OPS` per edge and is shared by every cell of the
network. Architectures are the value object `Arch`: a tuple of 6 op indices that round-trips
NB201's string format and its official index (0..15624, a lookup, not an enumeration).

A *mask* (edges x ops, bool) describes a sub-supernet: the set of architectures whose op on every
edge is allowed. The full supernet is the all-ones mask. The nonlinear-count criterion's sub-supernets
are not products of per-edge choices, so a sub-supernet may also restrict the *nonlinear count*
(`nonlinear_count`): it then holds the architectures of its mask whose count is in its set.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache, cache
from importlib import resources

import numpy as np

from naslid.errors import ArchError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


# Edge "j<-i" feeds node j from node i; sorted, as NB201's `edge2index`.
EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
NUM_NODES = 4
NUM_ARCHS = len(OPS) ** len(EDGES)  # 15,625


# Edge e of EDGES feeds node EDGE_TARGET[e] from node EDGE_SOURCE[e].
EDGE_TARGET = tuple(int(edge.split("<-")[0]) for edge in EDGES)
EDGE_SOURCE = tuple(int(edge.split("<-")[1]) for edge in EDGES)

_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


@dataclass(frozen=True, order=True)
class Arch:
    """One NB201 architecture: `ops[e]` is the index into `OPS` of the op on edge `EDGES[e]`."""

    ops: tuple[int, ...]

    def __post_init__(self):
        if len(self.ops) != len(EDGES) or not all(0 <= o < len(OPS) for o in self.ops):
            raise ArchError(f"an NB201 architecture needs {len(EDGES)} op indices in 0..{len(OPS) - 1}, got {self.ops}")

    @classmethod
    def from_str(cls, text: str) -> Arch:
        """Parse NB201's string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|`."""
        hint = "expected NB201's format, e.g. '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|...~0|...~1|...~2|'"
        if not isinstance(text, str) or not text.startswith("|") or not text.endswith("|"):
            raise ArchError(f"malformed architecture string {text!r}: {hint}")
        nodes = text[1:-1].split("|+|")
        if len(nodes) != NUM_NODES - 1:
            raise ArchError(
                f"malformed architecture string {text!r}: {len(nodes)} nodes instead of {NUM_NODES - 1}; {hint}"
            )
        ops = []
        for j, node in enumerate(nodes, start=1):
            tokens = node.split("|")
            if len(tokens) != j:
                raise ArchError(
                    f"malformed architecture string {text!r}: node {j} needs {j} inputs, got {len(tokens)}; {hint}"
                )
            for i, token in enumerate(tokens):
                match = _TOKEN.match(token)
                if match is None or int(match.group(2)) != i:
                    raise ArchError(
                        f"malformed architecture string {text!r}: token {token!r} should be '<op>~{i}'; {hint}"
                    )
                if match.group(1) not in OPS:
                    raise ArchError(f"unknown op {match.group(1)!r} in {text!r}; NB201 ops are {', '.join(OPS)}")
                ops.append(OPS.index(match.group(1)))
        return cls(tuple(ops))

    def to_str(self) -> str:
        nodes, e = [], 0
        for j in range(1, NUM_NODES):
            tokens = []
            for i in range(j):
                tokens.append(f"{OPS[self.ops[e]]}~{i}")
                e += 1
            nodes.append("|" + "|".join(tokens) + "|")
        return "+".join(nodes)

    def __str__(self) -> str:
        return self.to_str()

    @property
    def index(self) -> int:
        """NB201's official index of this architecture."""
        return _index_of_code()[self.ops]

    @classmethod
    def from_index(cls, index: int) -> Arch:
        order = _official_order()
        if not 0 <= index < len(order):
            raise ArchError(f"NB201 index {index} out of range 0..{len(order) - 1}")
        return cls(order[index])


@lru_cache(maxsize=1)
def _official_order() -> tuple[tuple[int, ...], ...]:
    text = resources.files("naslid.spaces.nb201").joinpath("nb201_order.txt").read_text()
    codes = [line for line in text.splitlines() if line and not line.startswith("#")]
    order = tuple(tuple(int(c) for c in code) for code in codes)
    assert len(order) == NUM_ARCHS and len(set(order)) == NUM_ARCHS, "nb201_order.txt is damaged"
    return order


@lru_cache(maxsize=1)
def _index_of_code() -> dict[tuple[int, ...], int]:
    return {code: i for i, code in enumerate(_official_order())}


def all_archs() -> list[Arch]:
    """Every architecture of the space, in NB201's official index order."""
    return [Arch(code) for code in _official_order()]


def full_mask() -> np.ndarray:
    return np.ones((len(EDGES), len(OPS)), dtype=bool)


def check_mask(mask: np.ndarray) -> np.ndarray:
    """Return `mask` as a bool (edges, ops) array, or raise if some edge has no op left."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (len(EDGES), len(OPS)):
        raise ArchError(f"a mask must have shape ({len(EDGES)}, {len(OPS)}) (edges x ops), got {mask.shape}")
    empty = [EDGES[e] for e in range(len(EDGES)) if not mask[e].any()]
    if empty:
        raise ArchError(f"mask leaves edge(s) {', '.join(empty)} with no op; every edge needs at least one allowed op")
    return mask


def mask_contains(mask: np.ndarray, arch: Arch) -> bool:
    return bool(all(mask[e, o] for e, o in enumerate(arch.ops)))


# The ops that apply a nonlinear function: NB201's ReLU-Conv-BN convolutions. skip_connect and
# avg_pool_3x3 are linear maps, none is zero; BatchNorm at inference is affine. The reduction
# blocks and the stem are the same in every architecture, so they do not change the count.
NONLINEAR_OPS = ("nor_conv_1x1", "nor_conv_3x3")
MAX_NONLINEAR = len(EDGES)


def nonlinear_count(arch: Arch) -> int:
    """How many edges of the cell apply a ReLU (0..6): the count that the criterion groups by."""
    return sum(OPS[o] in NONLINEAR_OPS for o in arch.ops)


def contains(mask: np.ndarray, nonlinear: frozenset[int] | None, arch: Arch) -> bool:
    """Whether the sub-supernet (mask, allowed nonlinear counts or None for any) holds `arch`."""
    return mask_contains(mask, arch) and (nonlinear is None or nonlinear_count(arch) in nonlinear)


def archs_in_mask(mask: np.ndarray, nonlinear: frozenset[int] | None = None) -> list[Arch]:
    """Enumerate the architectures a sub-supernet holds (product of its allowed ops per edge)."""
    allowed = [np.flatnonzero(row).tolist() for row in check_mask(mask)]
    archs = [Arch(tuple(ops)) for ops in itertools.product(*allowed)]
    return archs if nonlinear is None else [a for a in archs if nonlinear_count(a) in nonlinear]


def unpartitioned_edges(mask: np.ndarray) -> list[int]:
    """Edges whose ops have not been split yet (every op still allowed)."""
    return [e for e in range(len(EDGES)) if mask[e].all()]


def mask_to_lists(mask: np.ndarray) -> list[list[str]]:
    """JSON-friendly form of a mask: for each edge, the names of the allowed ops."""
    return [[OPS[o] for o in np.flatnonzero(row)] for row in check_mask(mask)]


def mask_from_lists(lists: list[list[str]]) -> np.ndarray:
    if len(lists) != len(EDGES):
        raise ArchError(f"a mask lists the allowed ops of {len(EDGES)} edges, got {len(lists)}")
    mask = np.zeros((len(EDGES), len(OPS)), dtype=bool)
    for e, names in enumerate(lists):
        for name in names:
            if name not in OPS:
                raise ArchError(f"unknown op {name!r} in mask of edge {EDGES[e]}; NB201 ops are {', '.join(OPS)}")
            mask[e, OPS.index(name)] = True
    return check_mask(mask)


@cache
def live_edges(choices: tuple[tuple[int, ...], ...]) -> tuple[bool, ...]:
    """Which edges can change the cell's output: an op other than `none`, fed by a node that receives
    something from the input, feeding a node that reaches the output. `choices[e]` holds the op
    indices summed on edge e (one for an architecture, several for a group of ops, Eq. 4).

    Any other edge computes nothing the loss sees: its input is all zeros, or its output is summed
    into a node that no op leads on from. On zeros, pooling and identity give zeros, and ReLU-conv-BN
    gives a constant (the conv's bias) that training-mode BatchNorm maps to zero, exactly in exact
    arithmetic and up to rounding (which BN amplifies) in floating point. Skipping it leaves the
    cell's output and every gradient unchanged; only the running BatchNorm statistics of its ops,
    which the sampled path's output never uses, are not updated.
    """
    active = [any(o != 0 for o in ops) for ops in choices]
    fed = [True] + [False] * (NUM_NODES - 1)
    for j in range(1, NUM_NODES):  # edges point forward, so one pass in node order settles it
        fed[j] = any(active[e] and fed[EDGE_SOURCE[e]] for e in range(len(EDGES)) if EDGE_TARGET[e] == j)
    useful = [False] * (NUM_NODES - 1) + [True]
    for i in reversed(range(NUM_NODES - 1)):
        useful[i] = any(active[e] and useful[EDGE_TARGET[e]] for e in range(len(EDGES)) if EDGE_SOURCE[e] == i)
    return tuple(active[e] and fed[EDGE_SOURCE[e]] and useful[EDGE_TARGET[e]] for e in range(len(EDGES)))


def edge_on_path(choices: tuple[tuple[int, ...], ...], edge: int) -> bool:
    """Whether the other edges' `choices` put `edge` on an input-to-output path of the cell, whatever
    op (other than `none`) it takes itself: its source is fed from the input and its target leads on
    to the output. Only then can the ops of `edge` change what the cell computes."""
    probe = choices[:edge] + ((1,),) + choices[edge + 1 :]  # any op but `none` on the edge itself
    return live_edges(probe)[edge]


def edge_can_be_on_path(mask: np.ndarray, edge: int) -> bool:
    """Whether some architecture of the sub-supernet `mask` puts `edge` on an input-to-output path.

    Paths only grow as edges become active, so it is enough to activate every other edge that allows
    an op other than `none`."""
    widest = tuple(tuple(int(o) for o in np.flatnonzero(mask[e]) if o != 0)[:1] or (0,) for e in range(len(EDGES)))
    return edge_on_path(widest, edge)
