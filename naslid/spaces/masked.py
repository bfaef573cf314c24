"""What every search space's supernet shares: the mask of a sub-supernet, membership, sampling
(`MaskedSupernet`), the per-position op choices of a forward pass (`EdgeChoices`), and BatchNorm on
batch statistics (`batch_statistics`). A space's network (`naslid.spaces.<name>.network`) builds on it.
"""

from __future__ import annotations

import contextlib
import copy
import re

import numpy as np
import torch
from torch import nn

from naslid.errors import ArchError

# For each edge, the op indices whose outputs are summed on it. A single path has one op per edge;
# a set of ops on an edge is how NAS-LID's Eq. 4 represents a sub-supernet that keeps a group.
EdgeChoices = tuple[tuple[int, ...], ...]


def edge_choices(arch: EdgeChoices | object) -> EdgeChoices:
    """The choices of an architecture of any search space (one op per position), or `arch` as it is."""
    return tuple((o,) for o in arch.ops) if hasattr(arch, "ops") else arch


class MaskedSupernet:
    """What every search space's supernet shares: the mask of its sub-supernet, membership, sampling.

    A sub-supernet is the same module restricted by `mask` (positions x ops); it inherits its
    parent's weights by a copy (`from_parent`). Ops a mask excludes keep their weights but are never
    run, so a sub-supernet costs no more per step than the supernet. `nonlinear` (a set of nonlinear
    counts, or None) further restricts it to the architectures of those counts (nonlinear-count criterion).
    """

    def init_mask(self, space, mask: np.ndarray | None, nonlinear) -> None:
        self.space = space
        self.mask = space.check_mask(space.full_mask() if mask is None else mask)
        self.nonlinear = None if nonlinear is None else frozenset(nonlinear)
        self._members = None if nonlinear is None else space.member_sampler(self.mask, self.nonlinear)

    def edge_parameters(self, edge: int) -> re.Pattern:
        """Names of the parameters that belong to the ops of `edge` (every other parameter is shared)."""
        return re.compile(self.EDGE_PARAMETERS.format(edge=edge))

    def contains(self, arch) -> bool:
        return self.space.mask_contains(self.mask, arch) and (
            self.nonlinear is None or self.space.nonlinear_count(arch) in self.nonlinear
        )

    @classmethod
    def from_parent(cls, parent: MaskedSupernet, mask: np.ndarray, nonlinear=None) -> MaskedSupernet:
        """A sub-supernet that inherits a copy of `parent`'s weights (the parent stays untouched)."""
        mask = parent.space.check_mask(mask)
        if np.any(mask & ~parent.mask):
            raise ArchError("a sub-supernet's mask must lie inside its parent's mask")
        nonlinear = parent.nonlinear if nonlinear is None else frozenset(nonlinear)
        if parent.nonlinear is not None and not nonlinear <= parent.nonlinear:
            raise ArchError("a sub-supernet's nonlinear counts must lie inside its parent's")
        child = copy.deepcopy(parent)
        child.mask = mask.copy()
        child.nonlinear = nonlinear
        child._members = None if nonlinear is None else child.space.member_sampler(mask, nonlinear)
        return child

    def weighted_mask(self) -> np.ndarray:
        """The mask restricted to the ops with weights (`space.WEIGHTED_OPS`); a position that allows
        none of them keeps what it allows."""
        weighted = np.array([op in self.space.WEIGHTED_OPS for op in self.space.OPS])
        return np.where((self.mask & weighted).any(axis=1, keepdims=True), self.mask & weighted, self.mask)

    def sample_arch(self, generator: torch.Generator, previous=None, mask: np.ndarray | None = None):
        """Pick one allowed op per position uniformly (RSPS single path), within `mask` if given
        (a part of the sub-supernet's own mask).

        With `previous` (the official NAS-LID code's "switch" sampling), every position that has
        more than one allowed op takes an op different from the one it had last step. A sub-supernet
        restricted by nonlinear count draws uniformly from its members instead.
        """
        if self._members is not None:
            if previous is not None:
                raise ArchError(
                    "switch sampling needs a product-form sub-supernet; use supernet.sampling: uniform "
                    "with the nonlinear-count criterion"
                )
            return self._members(generator)
        ops = []
        mask = self.mask if mask is None else mask
        for e in range(len(mask)):
            allowed = np.flatnonzero(mask[e]).tolist()
            if previous is not None and len(allowed) > 1:
                allowed.remove(previous.ops[e])
            ops.append(allowed[int(torch.randint(len(allowed), (1,), generator=generator))])
        return self.space.arch(ops)


@contextlib.contextmanager
def batch_statistics(model: nn.Module):
    """Evaluate with BatchNorm on batch statistics, leaving the running statistics untouched.

    A supernet's running statistics average over every sampled path and fit none of them, so
    sampled architectures are judged on batch statistics (the usual RSPS evaluation); the saved
    buffers are put back so evaluation never changes the model.
    """
    saved = {name: buf.clone() for name, buf in model.named_buffers()}
    was_training = model.training
    model.train()
    try:
        yield model
    finally:
        model.train(was_training)
        with torch.no_grad():
            for name, buf in model.named_buffers():
                buf.copy_(saved[name])
