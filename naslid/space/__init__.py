"""Search spaces behind one interface: `get_space(config)` for the configured `space.name`.

The pipeline sees a space only through these names, so a stage never special-cases one:
- `EDGES` the names of the choice positions (NB201's cell edges, ProxylessNAS's searchable layers),
  `OPS` the candidate ops of a position; an architecture (`arch(ops)`, `parse(text)`, `str(arch)`)
  is one op index per position;
- masks (positions x ops, bool) are sub-supernets: `full_mask`, `check_mask`, `mask_contains`,
  `mask_size`, `unpartitioned_edges`, `mask_to_lists`/`mask_from_lists` (the JSON form);
- `nonlinear_count`, `nonlinear_counts()` (the counts some architecture has) and
  `member_sampler(mask, counts)` (uniform draws among a mask's architectures of those counts) for
  the nonlinear-count criterion;
- `edge_on_path(choices, edge)` (the other positions' choices let `edge` change the output) and
  `edge_can_be_on_path(mask, edge)` (some architecture of the mask does), which profiling conditions on;
- `WEIGHTED_OPS`, the ops with weights of their own (what a pretraining curriculum starts with);
- `supernet(num_classes, mask, affine, track_running_stats, nonlinear)` and `standalone(arch, num_classes)`;
- `complexity_model(num_classes, image_size)`: arch -> {flops_m, params_mb[, latency_ms]}, what the
  search reports for every architecture it visits.
"""

from __future__ import annotations

import numpy as np

from naslid.errors import ArchError
from naslid.space import nb201, proxyless


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

    def supernet(self, num_classes: int, mask=None, affine: bool = False, track_running_stats: bool = True, nonlinear=None):
        from naslid.supernet import Supernet
        return Supernet(self.C, self.N, num_classes, mask, affine=affine, track_running_stats=track_running_stats,
                        nonlinear=nonlinear)

    def standalone(self, arch: nb201.Arch, num_classes: int):
        from naslid.supernet import StandaloneNetwork
        return StandaloneNetwork(arch, self.C, self.N, num_classes)

    def complexity_model(self, num_classes: int, image_size: int):
        return _Counted(self, num_classes, image_size)


class ProxylessSpace:
    name = "proxyless"

    def __init__(self, layout: proxyless.Layout = proxyless.Layout()):
        self.layout = layout
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
        proxyless.sample_by_nonlinear(mask, counts, torch.Generator().manual_seed(0), self.layout)  # fails early if empty
        return lambda generator: proxyless.sample_by_nonlinear(mask, counts, generator, self.layout)

    def supernet(self, num_classes: int, mask=None, affine: bool = False, track_running_stats: bool = True, nonlinear=None):
        from naslid.mobilenet import ProxylessSupernet
        return ProxylessSupernet(self, num_classes, mask, affine=affine, track_running_stats=track_running_stats,
                                 nonlinear=nonlinear)

    def standalone(self, arch: proxyless.Arch, num_classes: int):
        from naslid.mobilenet import ProxylessStandalone
        return ProxylessStandalone(arch, num_classes)

    def complexity_model(self, num_classes: int, image_size: int):
        from naslid.mobilenet import LatencyTable
        return LatencyTable(self.layout, num_classes, image_size)


class _Counted:
    """FLOPs and parameters of an architecture's stand-alone network, counted (`naslid.complexity`)."""

    def __init__(self, space, num_classes: int, image_size: int):
        self.space, self.num_classes, self.image_size = space, num_classes, image_size

    def __call__(self, arch) -> dict:
        from naslid.complexity import flops_m, params_mb
        network = self.space.standalone(arch, self.num_classes)
        return {"flops_m": round(flops_m(network, self.image_size), 6), "params_mb": round(params_mb(network), 6)}

    def describe(self) -> dict:
        return {"flops": "multiply-adds of convolutions and the classifier, counted, millions", "image_size": self.image_size}


def get_space(config: dict):
    """The search space of `config` (`space.name`: nb201 | proxyless)."""
    s = config["space"]
    if s["name"] == "proxyless":
        return ProxylessSpace(proxyless.Layout.from_config(s))
    return NB201Space(s["C"], s["N"])
