"""Supernet and stand-alone network: NB201's exact skeleton, single-path compute, masked sampling."""

import collections

import numpy as np
import pytest
import torch

from naslid.errors import ArchError
from naslid.space.nb201 import OPS, Arch, full_mask, mask_contains
from naslid.supernet import Cell, StandaloneNetwork, Supernet, batch_statistics


@pytest.mark.parametrize("index", [0, 1, 123, 6111, 9930, 15624])
def test_standalone_parameter_count_matches_nb201(nb201_table, index):
    """NB201 records each network's parameter count; equal counts pin skeleton, ops and affine flags."""
    row = nb201_table.iloc[index]
    net = StandaloneNetwork(Arch.from_str(row["arch"]), C=16, N=5, num_classes=10)
    assert sum(p.numel() for p in net.parameters()) / 1e6 == pytest.approx(row["params_mb"], abs=1e-9)


def test_forward_runs_only_the_chosen_ops():
    torch.manual_seed(0)
    net = Supernet(C=4, N=2, num_classes=10)
    calls = collections.Counter()
    for layer in net.layers:
        if isinstance(layer, Cell):
            for e, ops in enumerate(layer.ops):
                for name, module in ops.items():
                    module.register_forward_hook(lambda *_, e=e, name=name: calls.update([(e, name)]))
    arch = Arch.from_str("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    net(torch.randn(2, 3, 8, 8), arch)
    cells = sum(isinstance(layer, Cell) for layer in net.layers)
    expected = {(e, OPS[o]): cells for e, o in enumerate(arch.ops) if o != 0}
    assert dict(calls) == expected


def test_a_node_fed_only_by_none_is_zero():
    torch.manual_seed(0)
    cell = Cell(4, [list(OPS)] * 6, affine=False, track_running_stats=True)
    arch = Arch.from_str("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert torch.count_nonzero(cell(torch.randn(2, 4, 5, 5), arch)) == 0


def test_masked_sampling_never_leaves_the_mask():
    net = Supernet(C=4, N=1, num_classes=10)
    mask = full_mask()
    mask[0] = [False, False, True, True, False]
    mask[4] = [True, False, False, False, True]
    child = Supernet.from_parent(net, mask)
    g = torch.Generator().manual_seed(1)
    seen = [child.sample_arch(g) for _ in range(2000)]
    assert all(mask_contains(mask, a) for a in seen)
    # every allowed op shows up, each roughly uniformly (2 ops -> about 1000 each)
    counts = collections.Counter(a.ops[0] for a in seen)
    assert set(counts) == {2, 3} and min(counts.values()) > 850


def test_switch_sampling_changes_every_edge_that_can_change():
    net = Supernet(C=4, N=1, num_classes=10)
    g = torch.Generator().manual_seed(2)
    previous = net.sample_arch(g)
    for _ in range(200):
        arch = net.sample_arch(g, previous)
        assert all(a != b for a, b in zip(arch.ops, previous.ops))
        previous = arch


def test_sub_supernet_inherits_weights_and_must_lie_inside_parent():
    net = Supernet(C=4, N=1, num_classes=10)
    mask = full_mask()
    mask[1] = [False, True, False, False, False]
    child = Supernet.from_parent(net, mask)
    for (k, a), b in zip(net.state_dict().items(), child.state_dict().values()):
        assert torch.equal(a, b), k
    with torch.no_grad():
        next(child.parameters()).add_(1.0)
    assert not torch.equal(next(child.parameters()), next(net.parameters()))
    with pytest.raises(ArchError, match="inside its parent"):
        Supernet.from_parent(child, full_mask())


def test_batch_statistics_leaves_buffers_untouched():
    net = Supernet(C=4, N=1, num_classes=10)
    before = {k: v.clone() for k, v in net.named_buffers()}
    net.eval()
    with torch.no_grad(), batch_statistics(net):
        net(torch.randn(8, 3, 8, 8), Arch.from_index(5))
    assert not net.training
    assert all(torch.equal(before[k], v) for k, v in net.named_buffers())
