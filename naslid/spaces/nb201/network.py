"""The NB201 macro network, as a weight-sharing supernet and as a stand-alone network.

Both share one skeleton (`MacroNetwork`) and the ops of `naslid.spaces.nb201.ops`; they differ only in which
ops a cell holds: the supernet holds every op on every edge, a stand-alone network only its own.
Skeleton (NB201's `TinyNetwork`): stem conv-BN, then 3 stages of N cells with C, 2C, 4C channels
separated by 2 residual reduction blocks, then BN-ReLU, global average pool and a linear classifier.
The 3N + 2 cells and reduction blocks are the *layers* whose outputs the LID profile measures.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from naslid.spaces.masked import EdgeChoices, MaskedSupernet, edge_choices
from naslid.spaces.nb201.encoding import EDGE_SOURCE, EDGE_TARGET, EDGES, NUM_NODES, OPS, Arch, live_edges
from naslid.spaces.nb201.ops import ResNetBasicBlock, make_op


def skeleton(C: int, N: int) -> list[tuple[int, bool]]:
    """(channels, is_reduction) of every layer after the stem, as NB201's layer_channels/reductions."""
    layers = []
    for stage, channels in enumerate((C, 2 * C, 4 * C)):
        if stage > 0:
            layers.append((channels, True))
        layers += [(channels, False)] * N
    return layers


class Cell(nn.Module):
    """A 4-node NB201 cell. `ops[e]` maps op name -> module for the ops edge e can take here.

    With `skip_dead` (the supernet) only the edges that can reach the output run (`live_edges`); a
    stand-alone network runs every op of its architecture, as NB201 counts its FLOPs.
    """

    def __init__(
        self, channels: int, edge_ops: list[list[str]], affine: bool, track_running_stats: bool, skip_dead: bool = False
    ):
        super().__init__()
        self.ops = nn.ModuleList(
            nn.ModuleDict(
                {name: make_op(name, channels, affine, track_running_stats) for name in names if name != "none"}
            )
            for names in edge_ops
        )
        self.skip_dead = skip_dead

    def forward(self, x: torch.Tensor, arch: Arch | EdgeChoices) -> torch.Tensor:
        choices = edge_choices(arch)
        run = live_edges(choices) if self.skip_dead else (True,) * len(EDGES)
        nodes = [x]
        for j in range(1, NUM_NODES):
            total = None
            for e in range(len(EDGES)):
                if EDGE_TARGET[e] != j or not run[e]:
                    continue
                for o in choices[e]:
                    if o == 0:  # `none` contributes nothing
                        continue
                    out = self.ops[e][OPS[o]](nodes[EDGE_SOURCE[e]])
                    total = out if total is None else total + out
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[-1]


class MacroNetwork(nn.Module):
    def __init__(
        self,
        C: int,
        N: int,
        num_classes: int,
        cell_ops: list[list[str]],
        affine: bool,
        track_running_stats: bool,
        skip_dead: bool = False,
    ):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers, c_prev = [], C
        for channels, reduction in skeleton(C, N):
            layers.append(
                ResNetBasicBlock(c_prev, channels)
                if reduction
                else Cell(channels, cell_ops, affine, track_running_stats, skip_dead)
            )
            c_prev = channels
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor, arch: Arch | EdgeChoices) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, arch) if isinstance(layer, Cell) else layer(x)
        x = self.lastact(x).mean(dim=(2, 3))  # (B, 4C)
        return self.classifier(x)


class Supernet(MaskedSupernet, MacroNetwork):
    """Weight-sharing supernet of NB201: every op on every edge of every cell (`MaskedSupernet`)."""

    EDGE_PARAMETERS = r"^layers\.\d+\.ops\.{edge}\."  # edge e's ops in every cell

    def __init__(
        self,
        C: int,
        N: int,
        num_classes: int,
        mask: np.ndarray | None = None,
        affine: bool = False,
        track_running_stats: bool = True,
        nonlinear=None,
    ):
        from naslid.spaces.nb201 import NB201Space

        MacroNetwork.__init__(
            self, C, N, num_classes, [list(OPS)] * len(EDGES), affine, track_running_stats, skip_dead=True
        )
        self.init_mask(NB201Space(C, N), mask, nonlinear)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, arch: Arch | EdgeChoices) -> torch.Tensor:
        # Channels-last (NHWC) weights and activations: oneDNN's CPU convolutions ran the NB201 supernet
        # 1.8x faster than NCHW (benchmarks/README.md), and cuDNN's tensor-core kernels want it too.
        # Only the summation order of convolutions changes; a layer's output keeps its logical shape.
        return super().forward(x.contiguous(memory_format=torch.channels_last), arch)


class StandaloneNetwork(MacroNetwork):
    """The NB201 network of one architecture, trained on its own (affine BatchNorm, as NB201)."""

    def __init__(self, arch: Arch, C: int, N: int, num_classes: int):
        super().__init__(C, N, num_classes, [[OPS[o]] for o in arch.ops], affine=True, track_running_stats=True)
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x, self.arch)
