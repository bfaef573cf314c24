"""Search spaces behind one interface, `Space`, and `get_space(config)` for the configured `space.name`.

Each space is one sub-package holding its architecture encoding and its networks
(`naslid.spaces.nb201`, `naslid.spaces.proxyless`); what every space's supernet shares (masks,
membership, sampling) is `naslid.spaces.masked`. Above this package, the stages and the method see a
space only through `Space`, so none of them special-cases one (the ground truth, which exists for
NB201 only, is `naslid.spaces.nb201.ground_truth`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Space(Protocol):
    """What the pipeline may ask of a search space.

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

    A space's benchmark tables, where some exist, are read through `naslid.spaces.ground_truth`.
    """

    name: str
    EDGES: tuple[str, ...]
    OPS: tuple[str, ...]
    WEIGHTED_OPS: tuple[str, ...]
    MAX_NONLINEAR: int

    def arch(self, ops): ...
    def parse(self, text: str): ...
    def full_mask(self) -> np.ndarray: ...
    def check_mask(self, mask) -> np.ndarray: ...
    def mask_contains(self, mask: np.ndarray, arch) -> bool: ...
    def mask_size(self, mask: np.ndarray) -> int: ...
    def unpartitioned_edges(self, mask: np.ndarray) -> list[int]: ...
    def mask_to_lists(self, mask: np.ndarray) -> list: ...
    def mask_from_lists(self, lists) -> np.ndarray: ...
    def nonlinear_count(self, arch) -> int: ...
    def nonlinear_counts(self) -> list[int]: ...
    def member_sampler(self, mask: np.ndarray, counts): ...
    def edge_on_path(self, choices, edge: int) -> bool: ...
    def edge_can_be_on_path(self, mask: np.ndarray, edge: int) -> bool: ...
    def supernet(
        self, num_classes: int, mask=None, affine: bool = False, track_running_stats: bool = True, nonlinear=None
    ): ...
    def standalone(self, arch, num_classes: int): ...
    def complexity_model(self, num_classes: int, image_size: int): ...


def get_space(config: dict) -> Space:
    """The search space of `config` (`space.name`: nb201 | proxyless)."""
    s = config["space"]
    if s["name"] == "proxyless":
        from naslid.spaces.proxyless import ProxylessSpace, encoding

        return ProxylessSpace(encoding.Layout.from_config(s))
    from naslid.spaces.nb201 import NB201Space

    return NB201Space(s["C"], s["N"])
