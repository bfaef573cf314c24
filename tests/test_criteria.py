"""Split criteria share the min-cut machinery; gradient matching is checked against a direct computation."""

import itertools
import math
import zlib

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tiny_config
from naslid.method.criteria import CRITERIA, get_criterion, training_epochs
from naslid.data import load_dataset
from naslid.errors import ArchError, NaslidError
from naslid.method.evaluate import route
from naslid.method.gradient import gradient_edge
from naslid.spaces.nb201.encoding import (
    EDGES,
    OPS,
    all_archs,
    archs_in_mask,
    full_mask,
    mask_from_lists,
    mask_to_lists,
    nonlinear_count,
    unpartitioned_edges,
)
from naslid.method.split import min_cut_bipartition, partition_score
from naslid.stages.split import split
from naslid.spaces.nb201.encoding import edge_on_path
from naslid.spaces.nb201 import NB201Space
from naslid.spaces.nb201.network import Supernet


def _cosines_by_hand(config, model, dataset, edge, sub_id) -> dict[tuple[str, str], float]:
    """The same batches and other-edge ops, torch.autograd.grad per op, summed, cosine in numpy."""
    gcfg = config["gradient"]
    shared = [p for name, p in model.named_parameters() if f".ops.{edge}." not in name]
    generator = torch.Generator().manual_seed(config["seed"] * 7919 + zlib.crc32(f"{sub_id}/{edge}".encode()))
    sums = {o: 0 for o in range(len(OPS))}
    model.train()
    for _ in range(gcfg["batches"]):
        index = torch.randperm(len(dataset.train), generator=generator)[: gcfg["batch_size"]]
        images, labels = dataset.normalise(dataset.train.images[index]), dataset.train.labels[index]
        others = model.sample_arch(generator).ops
        while not edge_on_path(tuple((x,) for x in others), edge):  # the profiled edge must reach the output
            others = model.sample_arch(generator).ops
        for o in range(len(OPS)):
            ops = tuple((x,) for x in others[:edge] + (o,) + others[edge + 1 :])
            loss = torch.nn.functional.cross_entropy(model(images, ops), labels)
            grads = torch.autograd.grad(loss, shared, allow_unused=True)
            sums[o] = sums[o] + np.concatenate(
                [np.zeros(p.numel()) if g is None else g.double().flatten().numpy() for g, p in zip(grads, shared)]
            )
    assert all(np.linalg.norm(v) > 0 for v in sums.values())  # every op leaves a gradient on the shared weights
    return {
        (OPS[i], OPS[j]): sums[i] @ sums[j] / (np.linalg.norm(sums[i]) * np.linalg.norm(sums[j]))
        for i, j in itertools.combinations(range(len(OPS)), 2)
    }


def test_gradient_similarity_equals_autograd_per_op_and_cosine_by_hand(tmp_path):
    config = tiny_config(tmp_path, gradient={"batches": 2, "batch_size": 16})
    dataset = load_dataset(config["data"])
    torch.manual_seed(0)
    model = Supernet(4, 1, 10)
    table = gradient_edge(config, model, dataset, 3, sub_id="01")
    expected = _cosines_by_hand(config, model, dataset, 3, "01")
    assert {(r.op_i, r.op_j): pytest.approx(r.similarity, abs=1e-9) for r in table.itertuples()} == expected
    assert len(table) == 10  # every pair of the 5 ops


def test_none_op_has_no_gradient_path_through_its_edge_but_still_a_defined_similarity(tmp_path):
    """`none` on edge 1<-0 feeds node 1 nothing, so the ops after it get no gradient through it; the
    shared weights elsewhere still do, and its cosines with the other ops are the ones computed by hand."""
    config = tiny_config(tmp_path, gradient={"batches": 1, "batch_size": 16})
    dataset = load_dataset(config["data"])
    torch.manual_seed(0)
    model = Supernet(4, 1, 10)
    table = gradient_edge(config, model, dataset, 0)
    expected = _cosines_by_hand(config, model, dataset, 0, "")
    assert {(r.op_i, r.op_j): pytest.approx(r.similarity, abs=1e-9) for r in table.itertuples()} == expected
    assert sorted(r.op_j for r in table.itertuples() if r.op_i == "none") == sorted(OPS[1:])


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_every_criterion_splits_into_disjoint_children_that_cover_the_parent(tmp_path, name):
    config = tiny_config(tmp_path, split={"criterion": name}, gradient={"batches": 1, "batch_size": 32})
    dataset = load_dataset(config["data"])
    torch.manual_seed(0)
    parent = np.ones((len(EDGES), len(OPS)), dtype=bool)
    parent[1] = [True, True, False, True, False]  # a sub-supernet, already split once on edge 1
    model = Supernet(4, 1, 10, parent)
    criterion = get_criterion(name)
    table = (
        pd.concat([criterion.profile(config, model, dataset, e, "1", "cpu") for e in unpartitioned_edges(parent)])
        if criterion.measures
        else None
    )
    record = split(config, table, parent, "1")
    assert set(record) == {"id", "criterion", "mask", "edge", "groups", "edge_rule", "candidates", "children", "config"}
    assert record["criterion"] == name and record["edge"] != EDGES[1]
    assert all(set(c) == {"id", "mask", "nonlinear"} for c in record["children"])
    children = [set(archs_in_mask(mask_from_lists(c["mask"]), c["nonlinear"])) for c in record["children"]]
    expected = {"exhaustive": 5, "nonlinear-count": 7}.get(name, 2)  # one child per op or count, or a min-cut
    assert [c["id"] for c in record["children"]] == [f"1{i}" for i in range(expected)]
    assert sum(len(c) for c in children) == len(set().union(*children))  # disjoint
    assert set().union(*children) == set(archs_in_mask(parent))  # covering


def test_exhaustive_splits_the_first_unpartitioned_edge_into_one_child_per_op(tmp_path):
    config = tiny_config(tmp_path, split={"criterion": "exhaustive"})
    mask = np.ones((len(EDGES), len(OPS)), dtype=bool)
    mask[0] = [False, True, True, True, True]
    record = split(config, None, mask, "")
    assert record["edge"] == EDGES[1] and record["groups"] == [[op] for op in OPS]


def test_nonlinear_count_groups_match_a_brute_force_count_and_the_closed_form_sizes(tmp_path):
    config = tiny_config(tmp_path, split={"criterion": "nonlinear-count"})
    record = split(config, None, full_mask(), "")
    by_hand = {}  # count the ReLU-Conv-BN edges of every architecture from its NB201 string
    for arch in all_archs():
        by_hand.setdefault(arch.to_str().count("nor_conv_"), set()).add(arch)
    for count, child in enumerate(record["children"]):
        assert child["nonlinear"] == [count] and child["mask"] == mask_to_lists(full_mask())
        members = set(archs_in_mask(full_mask(), child["nonlinear"]))
        assert members == by_hand[count]
        assert len(members) == math.comb(6, count) * 2**count * 3 ** (6 - count)  # 2 nonlinear ops of 5
    assert [len(by_hand[c]) for c in range(7)] == [729, 2916, 4860, 4320, 2160, 576, 64]
    with pytest.raises(NaslidError, match="already a nonlinear-count group"):
        split(config, None, full_mask(), "6", nonlinear=[6])


def test_a_nonlinear_count_sub_supernet_samples_only_and_all_of_its_members():
    parent = Supernet(4, 1, 10)
    child = Supernet.from_parent(parent, full_mask(), [6])
    generator = torch.Generator().manual_seed(0)
    seen = [child.sample_arch(generator) for _ in range(2000)]
    assert {nonlinear_count(a) for a in seen} == {6}
    assert len(set(seen)) == 64  # 2000 uniform draws from 64 miss one with probability < 1e-10
    with pytest.raises(ArchError, match="inside its parent's"):
        Supernet.from_parent(child, full_mask(), [5])


def test_routing_over_the_seven_nonlinear_count_sub_supernets_finds_exactly_one_each():
    masks, counts = [full_mask()] * 7, [frozenset([c]) for c in range(7)]
    holders = [route(arch, masks, NB201Space(), counts) for arch in all_archs()]  # route raises on 0 or 2+ holders
    assert all(nonlinear_count(a) == h for a, h in zip(all_archs(), holders))


def test_budget_parity_gives_the_one_shot_baseline_the_fine_tune_epochs_of_a_two_way_split(tmp_path):
    config = tiny_config(tmp_path, split={"rounds": 3, "epochs_between_rounds": 1}, finetune={"epochs": 4})
    assert training_epochs("lid", config)["fine-tune"] == 8 * 4 + (2 + 4) * 1  # 8 finals, 6 between-round children
    assert training_epochs("none", config) == training_epochs("lid", config)
    assert training_epochs("nonlinear-count", config)["fine-tune"] == 7 * 4
    assert training_epochs("exhaustive", config)["fine-tune"] == 5 * 4


def test_none_and_unknown_criteria_are_clear_errors():
    with pytest.raises(NaslidError, match="does not split"):
        get_criterion("none")
    with pytest.raises(NaslidError, match="unknown split criterion 'magic'"):
        get_criterion("magic")


def test_min_cut_with_negative_similarities_equals_brute_force():
    """Gradient cosines can be negative; the enumeration is exact for any symmetric matrix."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        m = int(rng.integers(3, 7))
        sim = rng.uniform(-1, 1, (m, m))
        sim = (sim + sim.T) / 2
        np.fill_diagonal(sim, 0)
        best = max(
            partition_score(sim, ([i for i in range(m) if labels[i]], [i for i in range(m) if not labels[i]]))
            for labels in itertools.product([0, 1], repeat=m)
            if 0 < sum(labels) < m
        )
        assert partition_score(sim, min_cut_bipartition(sim, balanced=False)) == pytest.approx(best)


def test_random_split_draws_every_edge_and_balanced_partition_uniformly_and_repeatably(tmp_path):
    """The control criterion: over 600 experiment seeds every unpartitioned edge and every balanced
    partition of its 5 ops is drawn about equally often; one seed and mask always draw the same split,
    and two sub-supernets (two masks) of one seed draw their own."""
    parent = full_mask()
    parent[2] = [False, True, True, False, False]  # a sub-supernet already split on edge 2
    edges, partitions = {}, {}
    for seed in range(600):
        record = split(tiny_config(tmp_path, seed=seed, split={"criterion": "random"}), None, parent, "0")
        assert record["edge_rule"] == "random" and record["edge"] != EDGES[2]
        assert sorted(map(len, record["groups"])) == [2, 3] and sorted(sum(record["groups"], [])) == sorted(OPS)
        assert OPS.index(record["groups"][0][0]) < OPS.index(record["groups"][1][0])  # min-cut's group order
        edges[record["edge"]] = edges.get(record["edge"], 0) + 1
        pair = tuple(min(record["groups"], key=len))
        partitions[pair] = partitions.get(pair, 0) + 1
    assert set(edges) == set(EDGES) - {EDGES[2]} and len(partitions) == math.comb(5, 2)
    # 600 draws over 5 edges (expected 120 each) and 10 partitions (60 each): a fair draw stays within
    # these bounds but with probability < 1e-4 per cell; always drawing the first edge would not.
    assert all(80 <= n <= 160 for n in edges.values()) and all(30 <= n <= 95 for n in partitions.values())
    config = tiny_config(tmp_path, seed=7, split={"criterion": "random"})
    assert split(config, None, parent, "0") == split(config, None, parent, "0")
    other = parent.copy()
    other[2] = [True, False, False, True, True]  # the sibling sub-supernet
    draws = {
        json_key(split(tiny_config(tmp_path, seed=s, split={"criterion": "random"}), None, m, "0"))
        for s in range(5)
        for m in (parent, other)
    }
    assert len(draws) > 5  # siblings do not share one stream


def test_random_split_unbalanced_draws_every_group_size(tmp_path):
    sizes = {
        len(
            split(
                tiny_config(tmp_path, seed=s, split={"criterion": "random", "balanced": False}), None, full_mask(), ""
            )["groups"][0]
        )
        for s in range(100)
    }
    assert sizes == {1, 2, 3, 4}


def json_key(record: dict) -> str:
    return f"{record['edge']}:{record['groups']}"
