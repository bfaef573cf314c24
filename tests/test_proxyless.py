"""The ProxylessNAS / MobileNetV2 search space behind the pipeline's search-space interface."""

import collections
import itertools
import json

import numpy as np
import pandas as pd
import pytest
import thop
import torch

from conftest import REPO, run_snakemake, workflow_copy
from naslid.spaces.complexity import flops_m, params_mb
from naslid.config import load_config
from naslid.method.criteria import split_shape
from naslid.data import load_dataset
from naslid.errors import ArchError, ConfigError
from naslid.method.evolution import _Draws
from naslid.method.gradient import shared_parameters
from naslid.spaces.proxyless.network import LatencyTable
from naslid.method.profile import COLUMNS, profile_edge
from naslid.spaces.proxyless import ProxylessSpace
from naslid.spaces import get_space
from naslid.spaces.proxyless.encoding import SKIP, Arch, Layout, count_by_nonlinear, macs
from naslid.stages.split import split

TINY = REPO / "config" / "proxyless-tiny.yaml"
LAYOUTS = {
    "proxylessnas": Layout(),
    "ofa-style": Layout(
        widths=(24, 32, 48, 96, 136, 192),
        depths=(4, 4, 4, 4, 4, 1),
        strides=(2, 2, 2, 1, 2, 1),
        kernels=(3, 5, 7),
        expansions=(3, 4, 6),
        stem_width=16,
    ),
    "no-skip": Layout(depths=(1, 2, 2), widths=(8, 16, 24), strides=(1, 2, 2), skip=False),
}


def random_archs(layout: Layout, n: int, seed: int = 0) -> list[Arch]:
    """Uniform draws over the layout's full mask (independent of the supernet's sampler)."""
    space = ProxylessSpace(layout)
    rng = np.random.default_rng(seed)
    return [space.arch([rng.choice(np.flatnonzero(row)) for row in space.full_mask()]) for _ in range(n)]


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_architecture_round_trips_through_its_string(name):
    layout = LAYOUTS[name]
    for arch in random_archs(layout, 500):
        text = arch.to_str()
        assert Arch.from_str(text, layout) == arch
        assert Arch.from_str(text, layout).to_str() == text
        assert len(text.split("|")) == len(layout.depths)


def test_small_space_round_trips_exhaustively():
    layout = Layout(widths=(8, 16), depths=(2, 2), strides=(1, 2), kernels=(3, 5), expansions=(3,))
    space = ProxylessSpace(layout)
    archs = [space.arch(ops) for ops in itertools.product(*[np.flatnonzero(r) for r in space.full_mask()])]
    assert len(archs) == space.mask_size(space.full_mask()) == 2 * 3 * 2 * 3
    assert len({a.to_str() for a in archs}) == len(archs)
    assert all(space.parse(a.to_str()) == a for a in archs)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "malformed"),
        ("mb3_e3", "1 stages instead of 6"),
        (
            "mb3_e3-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3",
            "stage 1 has 3 layers instead of 4",
        ),
        (
            "mb3_e3-skip-skip-skip|mb4_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3",
            "unknown op 'mb4_e3'",
        ),
        (
            "skip-mb3_e3-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3-skip-skip-skip|mb3_e3",
            "cannot be 'skip'",
        ),
    ],
)
def test_malformed_strings_fail_with_what_is_wrong(text, message):
    with pytest.raises(ArchError, match=message):
        Arch.from_str(text)


def test_mobilenet_v2_has_its_published_flops_and_parameters():
    """MobileNetV2 1.0 at 224x224 is this space's block with its own layout: 300.77 M multiply-adds
    and 3,504,872 parameters (the figures torchvision and the MobileNetV2 paper publish)."""
    layout = Layout(
        widths=(24, 32, 64, 96, 160, 320), depths=(2, 3, 4, 3, 3, 1), kernels=(3,), expansions=(6,), skip=False
    )
    network = ProxylessSpace(layout).standalone(Arch((0,) * 16, layout), 1000)
    assert sum(p.numel() for p in network.parameters()) == 3_504_872
    assert flops_m(network, 224) == pytest.approx(300.774272, abs=1e-6)


@pytest.mark.parametrize("name", ["proxylessnas", "ofa-style"])
def test_flops_match_thop_and_the_closed_form(name):
    """The hook counter of naslid.spaces.complexity against thop (convolutions and the classifier; BatchNorm,
    which neither convention counts, set to zero) and against the per-block formula."""
    layout = LAYOUTS[name]
    for arch in random_archs(layout, 3, seed=1):
        network = ProxylessSpace(layout).standalone(arch, 1000)
        ours = flops_m(network, 224)
        counted, params = thop.profile(
            network,
            inputs=(torch.zeros(1, 3, 224, 224),),
            verbose=False,
            custom_ops={torch.nn.BatchNorm2d: lambda m, x, y: None},
        )
        assert ours == pytest.approx(counted / 1e6, rel=0.01)
        assert round(ours * 1e6) == macs(arch, 224, 1000)
        assert params / 1e6 == pytest.approx(params_mb(network), rel=1e-9)


def test_skip_passes_the_layer_input_through():
    layout = LAYOUTS["no-skip"].__class__(depths=(1, 2), widths=(8, 8), strides=(1, 1), kernels=(3,), expansions=(3,))
    space = ProxylessSpace(layout)
    torch.manual_seed(0)
    model = space.supernet(10)
    x = torch.randn(4, 8, 8, 8)
    layer = model.layers[2]  # the second layer of stage 2: a shortcut, so `skip` is the identity
    assert torch.equal(layer(x, [SKIP]), x)
    model.eval()
    assert torch.allclose(layer(x, ["mb3_e3"]), x + layer.blocks["mb3_e3"](x))


def test_full_mask_forbids_skip_on_the_first_layer_of_a_stage():
    space = get_space(load_config(TINY))
    mask = space.full_mask()
    firsts = [e for e, name in enumerate(space.EDGES) if name.endswith(".1")]
    assert not mask[firsts, space.OPS.index(SKIP)].any() and mask.sum() == 7 * 7 - len(firsts)
    bad = mask.copy()
    bad[firsts[0], space.OPS.index(SKIP)] = True
    with pytest.raises(ArchError, match="first layer of a stage"):
        space.check_mask(bad)


def test_layout_config_errors_are_clear():
    with pytest.raises(ConfigError, match="same length"):
        load_config(TINY, {"space": {"proxyless": {"depths": [2, 3]}}})
    with pytest.raises(ConfigError, match="odd kernel sizes"):
        load_config(TINY, {"space": {"proxyless": {"kernels": [3, 4]}}})
    with pytest.raises(ConfigError, match="space.name"):
        load_config(TINY, {"space": {"name": "darts"}})


def test_splitting_covers_the_space_disjointly():
    """Two rounds of LID splits (2 layers, 4 sub-supernets, the paper's setting in this space).

    Proof that this holds for any split: a split takes one layer whose allowed ops are the set S and
    gives children that keep every other row of the mask and allow, on that layer, the groups of a
    partition of S. An architecture of the parent has exactly one op on that layer, which lies in
    exactly one group, and it satisfies every other row in every child: it lies in exactly one child.
    By induction over rounds, the leaves partition the root. A space is in general too large to
    enumerate (2.2e17 architectures in ProxylessNAS's layout, 518,616 in this tiny one), so membership
    is checked on uniform samples.
    """
    config = load_config(TINY)
    space = get_space(config)
    rng = np.random.default_rng(0)

    def lid_table(mask, sub_id):  # a profile table with random LIDs: the cover cannot depend on them
        rows = [
            (sub_id, space.EDGES[e], space.OPS[o], b, layer, rng.uniform(2, 20))
            for e in space.unpartitioned_edges(mask)
            for o in np.flatnonzero(mask[e])
            for b in range(2)
            for layer in range(len(space.EDGES))
        ]
        return pd.DataFrame(rows, columns=COLUMNS)

    leaves = []
    for mask, sub_id in [(space.full_mask(), "")]:
        first = split(config, lid_table(mask, sub_id), mask, sub_id)
        for child in first["children"]:
            child_mask = space.mask_from_lists(child["mask"])
            second = split(config, lid_table(child_mask, child["id"]), child_mask, child["id"])
            leaves += [space.mask_from_lists(c["mask"]) for c in second["children"]]
    assert len(leaves) == 4
    for arch in random_archs(space.layout, 3000, seed=2):
        assert sum(space.mask_contains(leaf, arch) for leaf in leaves) == 1
    assert sum(space.mask_size(leaf) for leaf in leaves) == space.mask_size(space.full_mask())


def test_exhaustive_split_takes_the_first_layer_with_every_op():
    """A stage's first layer has one op fewer (no skip), so the exhaustive criterion splits the first
    layer that allows all 7: every split has as many children as the workflow plans."""
    config = load_config(TINY, {"split": {"criterion": "exhaustive"}})
    space = get_space(config)
    record = split(config, None, space.full_mask(), "")
    assert record["edge"] == "s1.2" and len(record["children"]) == len(space.OPS) == 7
    assert split_shape("exhaustive", config) == (1, 7)


def test_a_criterion_that_would_split_into_more_than_ten_sub_supernets_is_one_clear_error():
    """ImageNet's 21 layers give 16 nonlinear-count groups; the workflow's ids (one digit per round)
    would make sub-supernet r15's child index 5, so the plan refuses rather than train the wrong one."""
    from naslid.errors import NaslidError

    config = load_config(REPO / "config" / "paper" / "proxyless-imagenet.yaml")
    assert split_shape("exhaustive", config) == (1, 7)
    with pytest.raises(NaslidError, match=r"nonlinear-count would split this space into 16 .* at most 10"):
        split_shape("nonlinear-count", config)


def test_lid_profile_and_gradient_see_the_searchable_layers(tmp_path):
    config = load_config(TINY, {"data": {"limit": 256}, "lid": {"k": 5, "batches": 1, "batch_size": 32}})
    space = get_space(config)
    torch.manual_seed(0)
    model = space.supernet(10)
    table = profile_edge(config, model, load_dataset(config["data"]), edge=1)
    assert set(table["op"]) == set(space.OPS) and table["layer"].nunique() == len(space.EDGES)
    assert table["lid"].between(0, 1e3).all()
    own = {id(p) for p in model.layers[1].parameters()}
    shared = shared_parameters(model, 1)
    assert own and not own & {id(p) for p in shared}
    assert len(shared) + len(own) == len(list(model.parameters()))


def test_evolution_draws_and_mutates_only_inside_the_full_mask():
    space = get_space(load_config(TINY))
    draw = _Draws(space)
    rng, visited = np.random.default_rng(0), set()
    archs = [draw.random(rng, visited, None) for _ in range(300)]  # Arch() itself rejects a skip where a stage starts
    children = [draw.mutate(rng, archs[:10], visited, 0.5, None) for _ in range(300)]
    full = space.full_mask()
    seen = np.zeros_like(full)
    for arch in archs + children:
        assert space.mask_contains(full, arch)
        seen[np.arange(len(arch.ops)), arch.ops] = True
    assert np.array_equal(seen, full)  # and every allowed op of every layer is reached
    assert len({a.ops for a in archs + children}) == 600  # never one visited twice


def test_latency_table_counts_the_parameters_and_flops_of_the_network():
    layout = Layout.from_config(load_config(TINY)["space"])
    table = LatencyTable(layout, 10, 16, repeats=2)
    for arch in random_archs(layout, 5, seed=3):
        network = ProxylessSpace(layout).standalone(arch, 10)
        entry = table(arch)
        assert entry["params_mb"] == pytest.approx(params_mb(network), rel=1e-12)
        assert entry["flops_m"] == pytest.approx(flops_m(network, 16), rel=1e-12)
        assert entry["latency_ms"] > table.fixed_ms > 0


SMALL = Layout(widths=(8, 16), depths=(2, 2), strides=(1, 2), kernels=(3,), expansions=(3, 6))


def test_counting_by_nonlinear_count_matches_brute_force():
    space = ProxylessSpace(SMALL)
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = space.full_mask() & (rng.random(space.full_mask().shape) < 0.7)
        mask[np.arange(len(mask)), [np.flatnonzero(r)[0] for r in space.full_mask()]] = (
            True  # keep every layer non-empty
        )
        members = [space.arch(ops) for ops in itertools.product(*[np.flatnonzero(r) for r in mask])]
        brute = np.bincount([space.nonlinear_count(a) for a in members], minlength=len(space.EDGES) + 1)
        assert count_by_nonlinear(mask, SMALL) == brute.tolist()


def test_nonlinear_sub_supernets_draw_uniformly_among_their_members():
    """20,000 draws of the sub-supernet of counts {2, 4}: its 20 members (brute force: 4 of count 2,
    16 of count 4), each about 1,000 times (binomial sd 31; the bound is 5 sd), and nothing else."""
    space = ProxylessSpace(SMALL)
    model = space.supernet(10, nonlinear={2, 4})
    generator = torch.Generator().manual_seed(0)
    draws = collections.Counter(model.sample_arch(generator).ops for _ in range(20_000))
    members = {
        ops
        for ops in itertools.product(*[np.flatnonzero(r) for r in space.full_mask()])
        if space.nonlinear_count(space.arch(ops)) in {2, 4}
    }
    assert set(draws) == members and len(members) == 20
    assert all(abs(n - 1000) < 5 * 30.8 for n in draws.values())
    assert space.nonlinear_counts() == [2, 3, 4]
    with pytest.raises(ArchError, match="no architecture"):
        space.supernet(10, nonlinear={0})


WORKFLOW_OVERRIDES = """
space: {proxyless: {widths: [8, 16], depths: [1, 2], strides: [1, 2], stem_width: 8, first_width: 8, last_width: 32}}
data: {limit: 256}
train: {epochs: 1, batch_size: 32, eval_batches: 1}
finetune: {epochs: 1}
lid: {k: 5, batches: 1, batch_size: 32}
gradient: {batches: 1, batch_size: 32}
evaluate: {batches: 1, batch_size: 64}
evolve: {generations: 2, mutations: 3, crossovers: 3, randoms: 2, parents: 3}
final: {epochs: 1, batch_size: 32}
workflow: {criteria: [lid, nonlinear-count, none]}
"""


@pytest.mark.slow(reason="the ProxylessNAS space through the whole workflow (150 s)")
def test_tiny_variant_runs_through_the_same_workflow(tmp_path):
    """config/proxyless-tiny.yaml (made smaller still) through the Snakefile every experiment uses:
    2 rounds of LID splits give 4 sub-supernets, each search's best is trained from scratch, and the
    tables are Table 1 (this space's profiling cost) and Table 4; nothing is looked up."""
    root = workflow_copy(tmp_path, WORKFLOW_OVERRIDES)
    out = run_snakemake(root, "--cores", "2", "--configfile", "config/proxyless-tiny.yaml", "tiny.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    results = root / "results" / "proxyless-tiny"
    assert sorted(p.name for p in (results / "lid" / "s0" / "final").glob("*.pt")) == [
        "r00.pt",
        "r01.pt",
        "r10.pt",
        "r11.pt",
    ]
    table4 = pd.read_csv(results / "tables" / "table4.csv")
    assert list(table4["criterion"]) == ["lid", "none", "nonlinear-count"]
    # a stage's first layer is never skipped: counts 2 and 3 of the 3 layers, one sub-supernet each
    assert sorted(p.name for p in (results / "nonlinear-count" / "s0" / "final").glob("*.pt")) == ["r0.pt", "r1.pt"]
    space = get_space(load_config([TINY, root / "tiny.yaml"]))
    for arch in table4["arch (first seed)"]:
        space.parse(arch)  # a valid architecture of this space
    assert (table4["latency ms (estimate)"] > 0).all() and (table4["FLOPs M"] > 0).all()
    assert "NAS-LID peak MB" in (results / "tables" / "table1.md").read_text()
    assert not list(results.glob("*/s*/query.json")) and not list(results.glob("*/s*/rank.json"))
    final = json.loads((results / "lid" / "s0" / "trained.json").read_text())
    assert final["arch"] == json.loads((results / "lid" / "s0" / "evolve.json").read_text())["best"][0]["arch"]
    dry = run_snakemake(root, "-n", "--cores", "2", "--configfile", "config/proxyless-tiny.yaml", "tiny.yaml")
    assert "Nothing to be done" in dry.stdout + dry.stderr
