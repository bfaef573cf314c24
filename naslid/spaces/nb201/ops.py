"""NB201's operations and reduction block, with the semantics of xautodl's `cell_operations.py`.

Inside a cell every edge has stride 1 and C_in == C_out, so only that case is built here. `affine`
and `track_running_stats` follow NB201: the search supernet uses affine=False, stand-alone networks
affine=True. `none` is never instantiated: an edge with `none` contributes nothing, so it is skipped
(NB201 multiplies by zero, which is the same sum at no cost).
"""

from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding, affine, track_running_stats):
        super().__init__(
            nn.ReLU(inplace=False),
            # NB201 gives the conv a bias exactly when the BatchNorm has no affine shift.
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=not affine),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class AvgPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.pool(x)


class Identity(nn.Module):
    def forward(self, x):
        return x


def make_op(name: str, channels: int, affine: bool, track_running_stats: bool) -> nn.Module:
    """Build one non-`none` op of a cell edge (stride 1, channels -> channels)."""
    if name == "skip_connect":
        return Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0, affine, track_running_stats)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1, affine, track_running_stats)
    if name == "avg_pool_3x3":
        return AvgPool()
    raise ValueError(f"no module for op {name!r}")  # `none` is skipped by the caller


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block between stages: two ReLU-Conv-BN (stride 2 first) plus a pooled shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, True, True)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, True, True)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))
