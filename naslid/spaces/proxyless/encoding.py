"""The ProxylessNAS / OFA-style MobileNetV2 search space: layers, ops, architecture strings, masks.

The network (ProxylessNAS's layout) is a stem conv, one fixed inverted-residual block, then stages
of *searchable layers* with their width, depth and stride, then a 1x1 conv, global pooling and a
classifier. Every searchable layer picks one op: an inverted-residual block ("MBConv") of kernel
size k and expansion ratio e, written `mb{k}_e{e}`, or `skip` (the layer is left out and its input
passes through unchanged). The first layer of a stage changes width or stride, so it cannot be
skipped. With ProxylessNAS's defaults (kernels 3/5/7 x expansions 3/6 + skip, stages of depth
4, 4, 4, 4, 4, 1) there are 21 searchable layers and 6^6 x 7^15 (2.2e17) architectures.

The layout is configuration (`space.proxyless`, validated in `naslid.config`): an OFA-style elastic
space is the same block with kernels 3/5/7, expansions 3/4/6 and elastic depth expressed as skips;
a tiny variant (narrow, shallow, stride 1 stem) runs on the 16x16 proxy task on a CPU.

This module is the space's counterpart of `naslid.spaces.nb201.encoding` and offers the same names: a layer
here is what an edge is there (`EDGES`), an op is a candidate block (`OPS`), an architecture is
one op index per layer (`Arch`), a *mask* (layers x ops, bool) is a sub-supernet: the
architectures whose op on every layer is allowed.

Architecture strings list the ops of each stage joined by `-`, stages joined by `|`, e.g.
`mb3_e3-skip-skip-skip|mb5_e6-mb3_e3-skip-skip|...`: readable, and every architecture has exactly
one string (`to_str` and `from_str` are inverses, tested on random architectures).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from naslid.errors import ArchError

SKIP = "skip"


@dataclass(frozen=True)
class Layout:
    """The macro structure of the network: ProxylessNAS's by default (ImageNet, 224x224 input)."""

    widths: tuple[int, ...] = (24, 40, 80, 96, 192, 320)
    depths: tuple[int, ...] = (4, 4, 4, 4, 4, 1)
    strides: tuple[int, ...] = (2, 2, 2, 1, 2, 1)
    kernels: tuple[int, ...] = (3, 5, 7)
    expansions: tuple[int, ...] = (3, 6)
    stem_width: int = 32
    stem_stride: int = 2
    first_width: int = 16  # the fixed first block (expansion 1, 3x3), as in MobileNetV2
    last_width: int = 1280
    skip: bool = True  # layers after the first of a stage may be skipped (elastic depth)

    @classmethod
    def from_config(cls, space: dict) -> Layout:
        p = space["proxyless"]
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in p.items()})

    @cached_property
    def ops(self) -> tuple[str, ...]:
        blocks = tuple(f"mb{k}_e{e}" for k in self.kernels for e in self.expansions)
        return blocks + ((SKIP,) if self.skip else ())

    @cached_property
    def layers(self) -> tuple[tuple[int, int, int, int], ...]:
        """(stage, position in stage, output channels, stride) of every searchable layer."""
        return tuple(
            (s, i, width, stride if i == 0 else 1)
            for s, (width, depth, stride) in enumerate(zip(self.widths, self.depths, self.strides))
            for i in range(depth)
        )

    @cached_property
    def edges(self) -> tuple[str, ...]:
        """Names of the searchable layers, `s<stage>.<position>` counted from 1 (the pipeline's edges);
        the `s` keeps a CSV reader from taking a name for a number."""
        return tuple(f"s{s + 1}.{i + 1}" for s, i, _, _ in self.layers)


def parse_op(name: str) -> tuple[int, int]:
    """(kernel, expansion) of an MBConv op name `mb{k}_e{e}`."""
    kernel, expansion = name[2:].split("_e")
    return int(kernel), int(expansion)


@dataclass(frozen=True, order=True)
class Arch:
    """One architecture: `ops[l]` is the index into the layout's ops of layer l's op."""

    ops: tuple[int, ...]
    layout: Layout = field(compare=False, repr=False, default=Layout())

    def __post_init__(self):
        n_layers, n_ops = len(self.layout.layers), len(self.layout.ops)
        if len(self.ops) != n_layers or not all(isinstance(o, (int, np.integer)) and 0 <= o < n_ops for o in self.ops):
            raise ArchError(
                f"a ProxylessNAS architecture of this layout needs {n_layers} op indices in 0..{n_ops - 1}, "
                f"got {self.ops}"
            )
        object.__setattr__(self, "ops", tuple(int(o) for o in self.ops))
        for (s, i, _, _), o in zip(self.layout.layers, self.ops):
            if i == 0 and self.layout.ops[o] == SKIP:
                raise ArchError(
                    f"layer s{s + 1}.1 is the first of stage {s + 1} (it changes width or stride) and "
                    f"cannot be '{SKIP}'; give it one of {', '.join(self.layout.ops[:-1])}"
                )

    @classmethod
    def from_str(cls, text: str, layout: Layout = Layout()) -> Arch:
        example = "-".join([layout.ops[0]] + [SKIP if layout.skip else layout.ops[0]] * (layout.depths[0] - 1))
        hint = (
            f"expected {len(layout.depths)} stages joined by '|', each the ops of its "
            f"{'/'.join(map(str, layout.depths))} layers joined by '-', e.g. '{example}|...'"
        )
        if not isinstance(text, str) or not text:
            raise ArchError(f"malformed architecture string {text!r}: {hint}")
        stages = text.split("|")
        if len(stages) != len(layout.depths):
            raise ArchError(
                f"malformed architecture string {text!r}: {len(stages)} stages instead of {len(layout.depths)}; {hint}"
            )
        ops = []
        for s, (stage, depth) in enumerate(zip(stages, layout.depths)):
            names = stage.split("-")
            if len(names) != depth:
                raise ArchError(
                    f"malformed architecture string {text!r}: "
                    f"stage {s + 1} has {len(names)} layers instead of {depth}; {hint}"
                )
            for name in names:
                if name not in layout.ops:
                    raise ArchError(f"unknown op {name!r} in {text!r}; this space's ops are {', '.join(layout.ops)}")
                ops.append(layout.ops.index(name))
        return cls(tuple(ops), layout)

    def to_str(self) -> str:
        names = iter(self.layout.ops[o] for o in self.ops)
        return "|".join("-".join(itertools.islice(names, depth)) for depth in self.layout.depths)

    def __str__(self) -> str:
        return self.to_str()


def full_mask(layout: Layout = Layout()) -> np.ndarray:
    """Every op on every layer, except `skip` on the first layer of a stage."""
    mask = np.ones((len(layout.layers), len(layout.ops)), dtype=bool)
    if layout.skip:
        mask[[l for l, (_, i, _, _) in enumerate(layout.layers) if i == 0], layout.ops.index(SKIP)] = False
    return mask


def check_mask(mask: np.ndarray, layout: Layout = Layout()) -> np.ndarray:
    """`mask` as a bool (layers, ops) array inside the full mask, or a clear error."""
    mask = np.asarray(mask, dtype=bool)
    shape = (len(layout.layers), len(layout.ops))
    if mask.shape != shape:
        raise ArchError(f"a mask of this space must have shape {shape} (layers x ops), got {mask.shape}")
    empty = [layout.edges[l] for l in range(shape[0]) if not mask[l].any()]
    if empty:
        raise ArchError(
            f"mask leaves layer(s) {', '.join(empty)} with no op; every layer needs at least one allowed op"
        )
    if np.any(mask & ~full_mask(layout)):
        raise ArchError(f"mask allows '{SKIP}' on the first layer of a stage, which changes width or stride")
    return mask


def mask_contains(mask: np.ndarray, arch: Arch) -> bool:
    return bool(all(mask[l, o] for l, o in enumerate(arch.ops)))


def mask_size(mask: np.ndarray) -> int:
    """How many architectures a mask holds (the product of its allowed ops per layer)."""
    return math.prod(int(row.sum()) for row in mask)


def unpartitioned_edges(mask: np.ndarray, layout: Layout = Layout()) -> list[int]:
    """Layers whose ops have not been split yet (every op the space allows there is still allowed)."""
    full = full_mask(layout)
    return [l for l in range(len(layout.layers)) if np.array_equal(mask[l], full[l])]


def mask_to_lists(mask: np.ndarray, layout: Layout = Layout()) -> list[list[str]]:
    return [[layout.ops[o] for o in np.flatnonzero(row)] for row in check_mask(mask, layout)]


def mask_from_lists(lists: list[list[str]], layout: Layout = Layout()) -> np.ndarray:
    if len(lists) != len(layout.layers):
        raise ArchError(f"a mask lists the allowed ops of {len(layout.layers)} layers, got {len(lists)}")
    mask = np.zeros((len(layout.layers), len(layout.ops)), dtype=bool)
    for l, names in enumerate(lists):
        for name in names:
            if name not in layout.ops:
                raise ArchError(
                    f"unknown op {name!r} in mask of layer {layout.edges[l]}; "
                    f"this space's ops are {', '.join(layout.ops)}"
                )
            mask[l, layout.ops.index(name)] = True
    return check_mask(mask, layout)


def nonlinear_count(arch: Arch) -> int:
    """How many searchable layers apply a nonlinearity: every MBConv block (ReLU6), never `skip`."""
    return sum(arch.layout.ops[o] != SKIP for o in arch.ops)


def _block_and_skip(mask: np.ndarray, layout: Layout) -> list[tuple[int, int]]:
    """Per layer: (allowed MBConv blocks, 1 if `skip` is allowed else 0)."""
    skip = layout.ops.index(SKIP) if SKIP in layout.ops else None
    return [
        (int(row.sum()) - (1 if skip is not None and row[skip] else 0), int(skip is not None and bool(row[skip])))
        for row in mask
    ]


def _suffix_counts(mask: np.ndarray, layout: Layout) -> list[list[int]]:
    """suffix[l][c]: architectures of layers l.. of `mask` with c of them MBConv blocks.

    The product over layers of (skips + blocks x): the space is too large to enumerate, but by
    nonlinear count it is counted, and sampled uniformly, exactly (big integers).
    """
    suffix = [[1]]
    for blocks, skip in reversed(_block_and_skip(mask, layout)):
        after = suffix[0]
        here = [0] * (len(after) + 1)
        for c, n in enumerate(after):
            here[c] += n * skip
            here[c + 1] += n * blocks
        suffix.insert(0, here)
    return suffix


def count_by_nonlinear(mask: np.ndarray, layout: Layout = Layout()) -> list[int]:
    """[number of architectures of `mask` with nonlinear count c for c = 0..layers]."""
    return _suffix_counts(mask, layout)[0]


def sample_by_nonlinear(mask: np.ndarray, counts, generator, layout: Layout = Layout()) -> Arch:
    """A uniform draw among the architectures of `mask` whose nonlinear count is in `counts`."""
    import torch

    suffix = _suffix_counts(mask, layout)
    weights = [(c, suffix[0][c]) for c in sorted(counts) if c < len(suffix[0]) and suffix[0][c]]
    if not weights:
        raise ArchError(f"no architecture of this mask has a nonlinear count in {sorted(counts)}")

    def below(total: int) -> int:  # uniform integer in [0, total), through the torch generator
        return min(total - 1, int(torch.rand(1, generator=generator, dtype=torch.float64).item() * total))

    u = below(sum(w for _, w in weights))
    for remaining, w in weights:  # noqa: B007  (the count drawn is the one the loop stops at)
        if u < w:
            break
        u -= w
    ops = []
    for l, row in enumerate(mask):
        blocks = [o for o in np.flatnonzero(row) if layout.ops[o] != SKIP]
        with_block = len(blocks) * (suffix[l + 1][remaining - 1] if remaining >= 1 else 0)
        skip_allowed = SKIP in layout.ops and bool(row[layout.ops.index(SKIP)])
        skip_ways = suffix[l + 1][remaining] if skip_allowed and remaining < len(suffix[l + 1]) else 0
        if below(with_block + skip_ways) < with_block:
            ops.append(int(blocks[below(len(blocks))]))
            remaining -= 1
        else:
            ops.append(layout.ops.index(SKIP))
    return Arch(tuple(ops), layout)


def conv_out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1  # 'same' padding of an odd kernel


def mbconv_macs(size: int, c_in: int, c_out: int, kernel: int, expansion: int, stride: int) -> int:
    """Multiply-accumulates of one inverted-residual block on a size x size input."""
    mid, out = c_in * expansion, conv_out(size, stride)
    expand = size * size * c_in * mid if expansion != 1 else 0
    return expand + out * out * mid * kernel * kernel + out * out * mid * c_out


def macs(arch: Arch, image_size: int, num_classes: int) -> int:
    """Multiply-accumulates of convolutions and the classifier for one image, by formula."""
    L = arch.layout
    size = conv_out(image_size, L.stem_stride)
    total = size * size * 3 * L.stem_width * 9
    total += mbconv_macs(size, L.stem_width, L.first_width, 3, 1, 1)
    c_in = L.first_width
    for (_, _, width, stride), o in zip(L.layers, arch.ops):
        name = L.ops[o]
        if name != SKIP:
            kernel, expansion = parse_op(name)
            total += mbconv_macs(size, c_in, width, kernel, expansion, stride)
        size, c_in = conv_out(size, stride), width
    return total + size * size * c_in * L.last_width + L.last_width * num_classes
