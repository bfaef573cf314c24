"""Supernet and stand-alone network: NB201's exact skeleton, single-path compute, masked sampling."""

import collections

import pytest
import torch

from naslid.errors import ArchError
from naslid.spaces.nb201.encoding import EDGES, OPS, Arch, all_archs, full_mask, mask_contains
from naslid.spaces.nb201.network import Cell, StandaloneNetwork, Supernet, live_edges
from naslid.spaces.masked import batch_statistics, edge_choices


@pytest.mark.parametrize("index", [0, 1, 123, 6111, 9930, 15624])
def test_standalone_parameter_count_matches_nb201(nb201_table, index):
    """NB201 records each network's parameter count; equal counts pin skeleton, ops and affine flags."""
    row = nb201_table.iloc[index]
    net = StandaloneNetwork(Arch.from_str(row["arch"]), C=16, N=5, num_classes=10)
    assert sum(p.numel() for p in net.parameters()) / 1e6 == pytest.approx(row["params_mb"], abs=1e-9)


def op_calls(net, arch) -> dict:
    calls = collections.Counter()
    hooks = [
        module.register_forward_hook(lambda *_, e=e, name=name: calls.update([(e, name)]))
        for layer in net.layers
        if isinstance(layer, Cell)
        for e, ops in enumerate(layer.ops)
        for name, module in ops.items()
    ]
    net(torch.randn(2, 3, 8, 8), *([arch] if arch is not None else []))
    for hook in hooks:
        hook.remove()
    return dict(calls)


def test_forward_runs_only_the_chosen_ops_that_reach_the_output():
    torch.manual_seed(0)
    net = Supernet(C=4, N=2, num_classes=10)
    cells = sum(isinstance(layer, Cell) for layer in net.layers)
    arch = Arch.from_str("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    assert op_calls(net, arch) == {(e, OPS[o]): cells for e, o in enumerate(arch.ops) if o != 0}
    # node 2 leads nowhere (3<-2 is none): its input edge 2<-1 is skipped; node 1 still feeds 3<-1
    dead_end = Arch.from_str("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    assert op_calls(net, dead_end) == {
        (0, "nor_conv_3x3"): cells,
        (3, "skip_connect"): cells,
        (4, "nor_conv_1x1"): cells,
    }
    # node 1 receives nothing (1<-0 is none): the ops it feeds are skipped
    unfed = Arch.from_str("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|")
    assert op_calls(net, unfed) == {(1, "skip_connect"): cells, (5, "avg_pool_3x3"): cells}
    # the stand-alone network runs every op of its architecture, as NB201 counts FLOPs
    standalone = StandaloneNetwork(dead_end, C=4, N=2, num_classes=10)
    assert op_calls(standalone, None) == {(e, OPS[o]): cells for e, o in enumerate(dead_end.ops) if o != 0}


def _live_by_paths(arch: Arch) -> tuple[bool, ...]:
    """Brute force: an edge is live iff some path of non-none edges runs input -> edge -> output."""
    edges = [(int(name.split("<-")[1]), int(name.split("<-")[0])) for name in EDGES]

    def paths(a, b):  # every node sequence from a to b along non-none edges
        if a == b:
            return [[a]]
        return [[a] + rest for e, (s, t) in enumerate(edges) if s == a and arch.ops[e] != 0 for rest in paths(t, b)]

    return tuple(arch.ops[e] != 0 and bool(paths(0, s)) and bool(paths(t, 3)) for e, (s, t) in enumerate(edges))


def test_live_edges_equal_the_edges_on_an_input_to_output_path_for_every_architecture():
    for arch in all_archs():
        assert live_edges(edge_choices(arch)) == _live_by_paths(arch), arch.to_str()


def _none_patterns_with_every_op() -> list[Arch]:
    """For each of the 2^6 sets of `none` edges, 4 architectures that between them put each of the 4
    other ops on each remaining edge (edge e of the j-th takes op (j + e) mod 4, counted past `none`)."""
    archs = []
    for pattern in range(2 ** len(EDGES)):
        for j in range(4):
            archs.append(Arch(tuple(0 if pattern >> e & 1 else 1 + (j + e) % 4 for e in range(len(EDGES)))))
    return archs


def test_skipping_dead_edges_leaves_output_and_gradients_exactly_equal():
    """In training mode the skipped edges contribute exactly zero: ReLU-conv-BN of an all-zero input
    is zero (here the convs' biases are zeroed so that this holds in floating point too; with a bias,
    BN of the constant conv output is zero only up to rounding, which BN then amplifies: skipping is
    the exact value). Output and input gradient equal running every op, for every pattern of `none`
    edges (which edges are skipped depends on that alone, as the test above shows) with every other op
    on each edge that is not `none`: 64 x 4 architectures."""
    torch.manual_seed(0)
    every = Cell(4, [list(OPS)] * 6, affine=False, track_running_stats=True)
    for module in every.modules():
        if isinstance(module, torch.nn.Conv2d) and module.bias is not None:
            torch.nn.init.zeros_(module.bias)
    live = Cell(4, [list(OPS)] * 6, affine=False, track_running_stats=True, skip_dead=True)
    live.load_state_dict(every.state_dict())
    x = torch.randn(4, 4, 5, 5)
    weights = torch.linspace(-1, 1, x.numel()).view_as(x)
    for arch in _none_patterns_with_every_op():
        results = []
        for cell in (every, live):
            xi = x.clone().requires_grad_()
            out = cell(xi, arch)
            if out.requires_grad:  # a cell whose every path is none has no graph
                (out * weights).sum().backward()
            results.append((out.detach(), torch.zeros_like(x) if xi.grad is None else xi.grad))
        assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1]), arch.to_str()


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


def test_the_curriculum_samples_only_the_ops_with_weights_where_an_edge_has_them():
    """train.curriculum_epochs: the pretraining curriculum draws within `weighted_mask`, the
    convolutions on NB201's edges; an edge of a sub-supernet that keeps no convolution keeps its own ops."""
    model = Supernet(4, 1, 10)
    mask = model.mask.copy()
    mask[1] = [True, True, False, False, True]  # edge 2<-0 without convolutions
    model = Supernet.from_parent(model, mask)
    within = model.weighted_mask()
    assert within[0].tolist() == [False, False, True, True, False]
    assert within[1].tolist() == mask[1].tolist()
    generator = torch.Generator().manual_seed(0)
    draws = [model.sample_arch(generator, mask=within).ops for _ in range(200)]
    assert {ops[0] for ops in draws} == {2, 3} and {ops[1] for ops in draws} == {0, 1, 4}


def test_a_curriculum_longer_than_pretraining_is_a_config_error():
    from naslid.config import load_config
    from naslid.errors import ConfigError

    with pytest.raises(ConfigError, match="curriculum_epochs"):
        load_config(None, {"train": {"epochs": 5, "curriculum_epochs": 6}})
