"""The nb201 search space, as a `naslid.spaces.Space`.

NAS-Bench-201: 6 edges of a 4-node cell, 5 ops each (`encoding`); the macro
network as a supernet and stand-alone (`network`, over the ops of `ops`); the ground-truth tables (`ground_truth`).
"""

from __future__ import annotations

import numpy as np

import naslid.spaces.nb201.encoding as nb201
from naslid.errors import ArchError


class NB201Space:
    name = "nb201"
    EDGES, OPS, MAX_NONLINEAR = nb201.EDGES, nb201.OPS, nb201.MAX_NONLINEAR
    WEIGHTED_OPS = ("nor_conv_1x1", "nor_conv_3x3")  # the ops with weights of their own

    def __init__(self, C: int = 16, N: int = 5):
        self.C, self.N = C, N

    def arch(self, ops) -> nb201.Arch:
        return nb201.Arch(tuple(int(o) for o in ops))

    def parse(self, text: str) -> nb201.Arch:
        return nb201.Arch.from_str(text)

    full_mask = staticmethod(nb201.full_mask)
    check_mask = staticmethod(nb201.check_mask)
    mask_contains = staticmethod(nb201.mask_contains)
    unpartitioned_edges = staticmethod(nb201.unpartitioned_edges)
    mask_to_lists = staticmethod(nb201.mask_to_lists)
    mask_from_lists = staticmethod(nb201.mask_from_lists)
    nonlinear_count = staticmethod(nb201.nonlinear_count)
    edge_on_path = staticmethod(nb201.edge_on_path)
    edge_can_be_on_path = staticmethod(nb201.edge_can_be_on_path)

    @staticmethod
    def mask_size(mask: np.ndarray) -> int:
        return int(np.prod(mask.sum(axis=1)))

    def nonlinear_counts(self) -> list[int]:
        return list(range(self.MAX_NONLINEAR + 1))

    @staticmethod
    def member_sampler(mask: np.ndarray, counts):
        """NB201 is small: enumerate the members once, draw one index per call."""
        members = nb201.archs_in_mask(mask, counts)
        if not members:
            raise ArchError(f"no architecture of this mask has a nonlinear count in {sorted(counts)}")
        import torch  # here: a stage that only names architectures starts without torch

        return lambda generator: members[int(torch.randint(len(members), (1,), generator=generator))]

    def supernet(
        self, num_classes: int, mask=None, affine: bool = False, track_running_stats: bool = True, nonlinear=None
    ):
        from naslid.spaces.nb201.network import Supernet

        return Supernet(
            self.C,
            self.N,
            num_classes,
            mask,
            affine=affine,
            track_running_stats=track_running_stats,
            nonlinear=nonlinear,
        )

    def standalone(self, arch: nb201.Arch, num_classes: int):
        from naslid.spaces.nb201.network import StandaloneNetwork

        return StandaloneNetwork(arch, self.C, self.N, num_classes)

    def complexity_model(self, num_classes: int, image_size: int):
        return _Counted(self, num_classes, image_size)


class _Counted:
    """FLOPs and parameters of an architecture's stand-alone network, counted (`naslid.spaces.complexity`)."""

    def __init__(self, space, num_classes: int, image_size: int):
        self.space, self.num_classes, self.image_size = space, num_classes, image_size

    def __call__(self, arch) -> dict:
        from naslid.spaces.complexity import flops_m, params_mb

        network = self.space.standalone(arch, self.num_classes)
        return {"flops_m": round(flops_m(network, self.image_size), 6), "params_mb": round(params_mb(network), 6)}

    def describe(self) -> dict:
        return {
            "flops": "multiply-adds of convolutions and the classifier, counted, millions",
            "image_size": self.image_size,
        }
