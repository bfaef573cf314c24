"""Parameters and FLOPs of a network.

Parameters in MB means millions of parameters (NB201's `params` convention). FLOPs are the
multiply-accumulates of convolutions and linear layers for one image, in millions; BatchNorm,
ReLU, pooling and additions are not counted (NB201's own counter also adds pooling and biases, so
its figures for the same network are slightly higher).
"""

from __future__ import annotations

import torch
from torch import nn


def params_mb(model: nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


@torch.no_grad()
def flops_m(model: nn.Module, image_size: int, channels: int = 3) -> float:
    total = 0

    def conv_hook(module: nn.Conv2d, inputs, output):
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() // output.shape[0] * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module: nn.Linear, inputs, output):
        nonlocal total
        total += module.in_features * module.out_features

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    handles += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, channels, image_size, image_size))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total / 1e6
