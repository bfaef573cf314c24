"""The ProxylessNAS/MobileNetV2 network, as a weight-sharing supernet and as a stand-alone network.

Skeleton (ProxylessNAS's `ProxylessNASNets`): stem conv 3x3-BN-ReLU6, a fixed inverted-residual
block (3x3, expansion 1), the searchable layers of `naslid.spaces.proxyless.encoding.Layout`, a 1x1
conv-BN-ReLU6, global average pooling and a linear classifier. Each searchable layer is a
`MixedLayer`: one block per candidate op, each with its own weights (ProxylessNAS's mixed op, not
OFA's shared kernels). The searchable layers are the *layers* whose outputs the LID profile measures.

A layer after the first of its stage has an identity shortcut, so `skip` is the zero branch: its
output is its input. Several ops on one layer are summed (Eq. 4 of NAS-LID, as for NB201 edges).
"""

from __future__ import annotations

import torch
from torch import nn

from naslid.spaces.masked import MaskedSupernet, edge_choices
from naslid.spaces.proxyless.encoding import SKIP, Arch, Layout, conv_out, macs, parse_op


def conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int, groups: int, affine: bool, track: bool, act: bool
) -> list[nn.Module]:
    layers = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track),
    ]
    return layers + [nn.ReLU6(inplace=True)] if act else layers


class MBConv(nn.Sequential):
    """Inverted residual block: 1x1 expand-BN-ReLU6, kxk depthwise-BN-ReLU6, 1x1 project-BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int, affine: bool, track: bool):
        mid = c_in * expansion
        expand = conv_bn(c_in, mid, 1, 1, 1, affine, track, act=True) if expansion != 1 else []
        super().__init__(
            *expand,
            *conv_bn(mid, mid, kernel, stride, mid, affine, track, act=True),
            *conv_bn(mid, c_out, 1, 1, 1, affine, track, act=False),
        )


class MixedLayer(nn.Module):
    """One searchable layer: a block per op it can take; the output sums the chosen ops' blocks."""

    def __init__(self, c_in: int, c_out: int, stride: int, ops: list[str], shortcut: bool, affine: bool, track: bool):
        super().__init__()
        self.blocks = nn.ModuleDict(
            {name: MBConv(c_in, c_out, *parse_op(name), stride, affine, track) for name in ops if name != SKIP}
        )
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor, names: list[str]) -> torch.Tensor:
        total = None
        for name in names:
            if name != SKIP:
                out = self.blocks[name](x)
                total = out if total is None else total + out
        if self.shortcut:
            return x if total is None else x + total
        return total


class MobileNetwork(nn.Module):
    def __init__(self, layout: Layout, num_classes: int, layer_ops: list[list[str]], affine: bool, track: bool):
        super().__init__()
        self.layout = layout
        L = layout
        self.stem = nn.Sequential(
            *conv_bn(3, L.stem_width, 3, L.stem_stride, 1, True, True, act=True),
            MBConv(L.stem_width, L.first_width, 3, 1, 1, True, True),
        )
        layers, c_in = [], L.first_width
        for (_, position, width, stride), ops in zip(L.layers, layer_ops):
            layers.append(MixedLayer(c_in, width, stride, ops, shortcut=position > 0, affine=affine, track=track))
            c_in = width
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(*conv_bn(c_in, L.last_width, 1, 1, 1, True, True, act=True))
        self.classifier = nn.Linear(L.last_width, num_classes)

    def forward(self, x: torch.Tensor, arch) -> torch.Tensor:
        choices = edge_choices(arch)
        x = self.stem(x)
        for layer, group in zip(self.layers, choices):
            x = layer(x, [self.layout.ops[o] for o in group])
        return self.classifier(self.head(x).mean(dim=(2, 3)))


class ProxylessSupernet(MaskedSupernet, MobileNetwork):
    """Weight-sharing supernet of the space: every op on every searchable layer, restricted by `mask`."""

    EDGE_PARAMETERS = r"^layers\.{edge}\.blocks\."

    def __init__(
        self, space, num_classes: int, mask=None, affine: bool = False, track_running_stats: bool = True, nonlinear=None
    ):
        MobileNetwork.__init__(
            self, space.layout, num_classes, [list(space.OPS)] * len(space.EDGES), affine, track_running_stats
        )
        self.init_mask(space, mask, nonlinear)


class ProxylessStandalone(MobileNetwork):
    """The network of one architecture, trained on its own (affine BatchNorm)."""

    def __init__(self, arch: Arch, num_classes: int):
        super().__init__(arch.layout, num_classes, [[arch.layout.ops[o]] for o in arch.ops], affine=True, track=True)
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x, self.arch)


class LatencyTable:
    """FLOPs, parameters and estimated latency of every architecture of a layout (ProxylessNAS's lookup table).

    Each candidate block is built once at its layer's input shape and timed alone (batch 1, eval
    mode, median of `repeats` runs after warm-up, on this process's device and threads); an
    architecture's latency is the fixed part (stem, first block, head) plus its blocks' entries.
    FLOPs come from the closed form (`naslid.spaces.proxyless.encoding.macs`). The latencies are measurements:
    they differ from machine to machine and a little from run to run.
    """

    def __init__(self, layout: Layout, num_classes: int, image_size: int, repeats: int = 20):
        self.layout, self.num_classes, self.image_size = layout, num_classes, image_size
        network = ProxylessStandalone(Arch(tuple(0 for _ in layout.layers), layout), num_classes).eval()
        self.fixed_params = sum(
            p.numel() for m in (network.stem, network.head, network.classifier) for p in m.parameters()
        )
        image = torch.zeros(1, 3, image_size, image_size)
        self.fixed_ms = _median_ms(lambda: network.stem(image), repeats)
        self.entries: dict[tuple[int, int], tuple[int, float]] = {}  # (layer, op) -> (parameters, ms)
        size, c_in = conv_out(image_size, layout.stem_stride), layout.first_width
        for l, (_, _, width, stride) in enumerate(layout.layers):
            features = torch.zeros(1, c_in, size, size)
            for o, name in enumerate(layout.ops):
                if name != SKIP:
                    block = MBConv(c_in, width, *parse_op(name), stride, True, True).eval()
                    self.entries[(l, o)] = (
                        sum(p.numel() for p in block.parameters()),
                        _median_ms(lambda block=block, features=features: block(features), repeats),
                    )
            size, c_in = conv_out(size, stride), width
        features = torch.zeros(1, c_in, size, size)
        self.fixed_ms += _median_ms(lambda: network.classifier(network.head(features).mean(dim=(2, 3))), repeats)

    def __call__(self, arch: Arch) -> dict:
        used = [self.entries[(l, o)] for l, o in enumerate(arch.ops) if self.layout.ops[o] != SKIP]
        return {
            "flops_m": macs(arch, self.image_size, self.num_classes) / 1e6,
            "params_mb": (self.fixed_params + sum(p for p, _ in used)) / 1e6,
            "latency_ms": round(self.fixed_ms + sum(t for _, t in used), 4),
        }

    def describe(self) -> dict:
        return {
            "flops": "multiply-adds of convolutions and the classifier, closed form, millions",
            "latency": f"sum of per-block latencies measured at batch 1 on {torch.get_num_threads()} CPU thread(s), ms",
            "image_size": self.image_size,
            "fixed_ms": round(self.fixed_ms, 4),
            "blocks_ms": {
                f"{self.layout.edges[l]}/{self.layout.ops[o]}": round(t, 4) for (l, o), (_, t) in self.entries.items()
            },
        }


@torch.no_grad()
def _median_ms(run, repeats: int) -> float:
    import time

    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return float(sorted(times)[len(times) // 2])
