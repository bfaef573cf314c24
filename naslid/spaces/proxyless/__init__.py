"""The proxyless search space, as a `naslid.spaces.Space`.

ProxylessNAS/OFA MobileNetV2 layers: the layout and architecture encoding (`encoding`),
the supernet, stand-alone network and latency table (`network`).
"""

from __future__ import annotations

import numpy as np

import naslid.spaces.proxyless.encoding as proxyless


class ProxylessSpace:
    name = "proxyless"

    def __init__(self, layout: proxyless.Layout | None = None):
        self.layout = layout = layout or proxyless.Layout()
        self.EDGES, self.OPS = layout.edges, layout.ops
        self.WEIGHTED_OPS = tuple(op for op in layout.ops if op != proxyless.SKIP)
        self.MAX_NONLINEAR = len(layout.layers)

    def arch(self, ops) -> proxyless.Arch:
        return proxyless.Arch(tuple(int(o) for o in ops), self.layout)

    def parse(self, text: str) -> proxyless.Arch:
        return proxyless.Arch.from_str(text, self.layout)

    def full_mask(self) -> np.ndarray:
        return proxyless.full_mask(self.layout)

    def check_mask(self, mask) -> np.ndarray:
        return proxyless.check_mask(mask, self.layout)

    mask_contains = staticmethod(proxyless.mask_contains)
    mask_size = staticmethod(proxyless.mask_size)
    nonlinear_count = staticmethod(proxyless.nonlinear_count)

    def unpartitioned_edges(self, mask) -> list[int]:
        return proxyless.unpartitioned_edges(mask, self.layout)

    @staticmethod
    def edge_on_path(choices, edge: int) -> bool:
        """Layers form a chain: every layer's op reaches the output, whatever the others are."""
        return True

    @staticmethod
    def edge_can_be_on_path(mask, edge: int) -> bool:
        return True

    def mask_to_lists(self, mask) -> list[list[str]]:
        return proxyless.mask_to_lists(mask, self.layout)

    def mask_from_lists(self, lists) -> np.ndarray:
        return proxyless.mask_from_lists(lists, self.layout)

    def nonlinear_counts(self) -> list[int]:
        """The counts some architecture has: a stage's first layer is never skipped."""
        return [c for c, n in enumerate(proxyless.count_by_nonlinear(self.full_mask(), self.layout)) if n]

    def member_sampler(self, mask, counts):
        """Too many members to enumerate: uniform draws by counting (`proxyless.sample_by_nonlinear`)."""
        import torch

        proxyless.sample_by_nonlinear(
            mask, counts, torch.Generator().manual_seed(0), self.layout
        )  # fails early if empty
        return lambda generator: proxyless.sample_by_nonlinear(mask, counts, generator, self.layout)

    def supernet(
        self, num_classes: int, mask=None, affine: bool = False, track_running_stats: bool = True, nonlinear=None
    ):
        from naslid.spaces.proxyless.network import ProxylessSupernet

        return ProxylessSupernet(
            self, num_classes, mask, affine=affine, track_running_stats=track_running_stats, nonlinear=nonlinear
        )

    def standalone(self, arch: proxyless.Arch, num_classes: int):
        from naslid.spaces.proxyless.network import ProxylessStandalone

        return ProxylessStandalone(arch, num_classes)

    def complexity_model(self, num_classes: int, image_size: int):
        from naslid.spaces.proxyless.network import LatencyTable

        return LatencyTable(self.layout, num_classes, image_size)
