"""Similarity, min-cut, edge choice, separability and rounds of splitting."""

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tiny_config
from naslid.data import load_dataset
from naslid.errors import NaslidError
from naslid.method.profile import profile_edge
from naslid.spaces.nb201.encoding import (
    EDGES,
    NUM_ARCHS,
    OPS,
    all_archs,
    full_mask,
    mask_contains,
    mask_from_lists,
    unpartitioned_edges,
)
from naslid.spaces.nb201 import NB201Space
from naslid.method.split import (
    children_masks,
    min_cut_bipartition,
    partition_score,
    separability,
    similarity,
    similarity_matrix,
    tied_batches,
)
from naslid.stages.split import split
from naslid.spaces.nb201.network import Supernet

# Under pytest-xdist the tests share one trained supernet (`trained`): one worker runs them all.
pytestmark = pytest.mark.xdist_group("split")


def brute_force_best(sim, balanced):
    """Every assignment of nodes to two labelled groups, scored from scratch."""
    m, best = len(sim), -np.inf
    for labels in itertools.product([0, 1], repeat=m):
        sizes = labels.count(0), labels.count(1)
        if 0 in sizes or (balanced and abs(sizes[0] - sizes[1]) > 1):
            continue
        score = sum(sim[i, j] for i in range(m) for j in range(i + 1, m) if labels[i] == labels[j])
        best = max(best, score)
    return best


def choice_by_hand(table: pd.DataFrame, mask: np.ndarray, edge_rule: str, eps: float) -> tuple[str, list[list[str]]]:
    """The split a record must choose, from the tidy profile table alone: per unpartitioned edge, Eq. 5
    similarities of the ops' profiles from their distances averaged over batches, the balanced bipartition with
    the highest intra-group sum (Eq. 6; the first op in the first group); then the edge with the
    highest partition score (paper) or cross-group similarity (official code)."""
    best = {}
    for e in unpartitioned_edges(mask):
        ops = [OPS[o] for o in np.flatnonzero(mask[e])]
        part = table[table["edge"] == EDGES[e]]
        vectors = {key: rows.sort_values("layer")["lid"].to_numpy() for key, rows in part.groupby(["op", "batch"])}
        batches = sorted(set(part["batch"]))
        sim = {
            (i, j): 1 / (np.mean([np.linalg.norm(vectors[i, b] - vectors[j, b]) for b in batches]) + eps)
            for i, j in itertools.permutations(ops, 2)
        }
        for size in range(1, len(ops)):
            for first in itertools.combinations(ops, size):
                second = [o for o in ops if o not in first]
                if ops[0] not in first or abs(len(first) - len(second)) > 1:
                    continue
                score = sum(sim[pair] for group in (first, second) for pair in itertools.combinations(group, 2))
                cut = sum(sim[i, j] for i in first for j in second)
                if EDGES[e] not in best or score > best[EDGES[e]][0]:
                    best[EDGES[e]] = (score, cut, [list(first), second])
    rank = 0 if edge_rule == "partition-score" else 1
    edge = max(best, key=lambda name: best[name][rank])
    return edge, best[edge][2]


@pytest.mark.parametrize("balanced", [True, False])
def test_min_cut_matches_brute_force_on_1000_random_matrices(balanced):
    rng = np.random.default_rng(0 if balanced else 1)
    for _ in range(1000):
        m = int(rng.integers(3, 9))
        upper = np.triu(rng.exponential(size=(m, m)), 1)
        sim = upper + upper.T
        a, b = min_cut_bipartition(sim, balanced=balanced)
        assert a and b and sorted(a + b) == list(range(m)) and a == sorted(a) and b == sorted(b)
        if balanced:
            assert abs(len(a) - len(b)) <= 1
        assert partition_score(sim, (a, b)) == pytest.approx(brute_force_best(sim, balanced), rel=1e-12)


def test_unbalanced_cut_can_isolate_one_op():
    sim = np.full((5, 5), 10.0)
    sim[4, :] = sim[:, 4] = 0.1
    np.fill_diagonal(sim, 0)
    assert min_cut_bipartition(sim, balanced=False) == ([0, 1, 2, 3], [4])
    a, b = min_cut_bipartition(sim, balanced=True)
    assert {len(a), len(b)} == {2, 3}


def test_bad_similarity_matrix_is_rejected():
    with pytest.raises(NaslidError, match="symmetric"):
        min_cut_bipartition(np.array([[0, 1.0], [2.0, 0]]))
    with pytest.raises(NaslidError, match="at least 2"):
        min_cut_bipartition(np.zeros((1, 1)))


def test_similarity_equations_by_hand():
    a, b = np.array([3.0, 5.0, 7.0]), np.array([4.0, 5.0, 5.0])
    assert similarity(a, b, "euclidean", eps=0.5) == pytest.approx(1 / (np.sqrt(1 + 0 + 4) + 0.5))
    r = ((a - a.mean()) @ (b - b.mean())) / np.sqrt(((a - a.mean()) ** 2).sum() * ((b - b.mean()) ** 2).sum())
    assert similarity(a, b, "pearson", eps=0.0) == pytest.approx(1 / (1 - r))
    assert similarity(a, b, "cosine") == pytest.approx((12 + 25 + 35) / (np.sqrt(83) * np.sqrt(66)))


def test_distances_are_averaged_over_batches_before_eq5_inverts_them():
    profiles = np.array([[[0.0, 0.0], [0.0, 0.0]], [[3.0, 4.0], [1.0, 0.0]]])  # 2 ops, 2 batches, 2 layers
    sim = similarity_matrix(profiles, "euclidean", eps=0.0)
    assert sim[0, 1] == sim[1, 0] == pytest.approx(1 / ((5 + 1) / 2)) and sim[0, 0] == 0
    r = np.corrcoef([3.0, 4.0, 0.5], [1.0, 0.0, 2.0])[0, 1]
    pearson = similarity_matrix(np.array([[[0.0, 1, 2], [3, 4, 0.5]], [[0.0, 2, 4], [1, 0, 2]]]), "pearson", eps=0.0)
    assert pearson[0, 1] == pytest.approx(1 / ((0 + (1 - r)) / 2))


def test_one_batch_of_tied_profiles_cannot_dominate_the_similarity():
    """Three ops over three batches; in batch 1 all three coincide. Averaging inverted similarities
    would give that pair 1/eps; averaging distances, or leaving the tied batch out, does not."""
    rng = np.random.default_rng(0)
    profiles = rng.uniform(5, 15, size=(3, 3, 4))
    profiles[:, 1] = profiles[0, 1]
    assert tied_batches(profiles) == [1]
    sim = similarity_matrix(profiles, "euclidean", eps=1e-8, exclude=[1])
    by_hand = 1 / (np.mean([np.linalg.norm(profiles[0, r] - profiles[2, r]) for r in (0, 2)]) + 1e-8)
    assert sim[0, 2] == pytest.approx(by_hand) and sim.max() < 1.0
    assert similarity_matrix(profiles, "euclidean", eps=1e-8).max() < 1.0  # tied batch kept: still bounded
    with pytest.raises(NaslidError, match="every profiling batch was excluded"):
        similarity_matrix(profiles, exclude=[0, 1, 2])


def test_separability_closed_form():
    sim = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.0]])
    values = np.array([1, 2, 3.0])
    assert separability(sim) == pytest.approx(np.sqrt(((values - 2) ** 2).mean()) / 2)
    assert separability(np.ones((4, 4))) == 0.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from naslid.spaces.checkpoint import load_supernet
    from naslid.stages.pretrain import pretrain

    tmp = tmp_path_factory.mktemp("trained")
    config = tiny_config(tmp, lid={"batches": 1})
    pretrain(config, tmp / "s.pt", tmp / "m.json")
    model, _ = load_supernet(tmp / "s.pt")
    return config, model, load_dataset(config["data"])


def test_profile_table_shape_and_determinism(trained):
    config, model, dataset = trained
    table = profile_edge(config, model, dataset, edge=2, sub_id="")
    assert len(table) == config["lid"]["batches"] * len(OPS) * len(model.layers)
    assert set(table["op"]) == set(OPS) and set(table["edge"]) == {EDGES[2]}
    assert table.equals(profile_edge(config, model, dataset, edge=2, sub_id=""))  # per (seed, sub-supernet, edge)


def test_profiles_see_the_edge_no_batch_ties_every_op(trained):
    """The dead-edge artifact: drawn unconditionally, the other edges cut edge 2<-1 off the cell's
    paths in 36% of batches (1<-0: 7%, 2<-0 and 3<-1: 20%, 3<-2: 7%), where all five ops give the
    same profile and Eq. 5 gives 1/eps. Profiles must keep the edge on a path in every batch, so no
    batch ties every op and no candidate edge scores near 1/eps."""
    config, model, dataset = trained
    config = {**config, "lid": {**config["lid"], "batches": 8}}
    table = pd.concat([profile_edge(config, model, dataset, edge=e, sub_id="") for e in range(len(EDGES))])
    per_batch = table.groupby(["edge", "batch", "layer"])["lid"].nunique().groupby(["edge", "batch"]).max()
    assert (per_batch > 1).all(), (
        f"batches where every op gave the same profile: {list(per_batch[per_batch == 1].index)}"
    )
    record = split({**config, "split": {**config["split"], "rounds": 1}}, table, full_mask(), "")
    scores = {edge: c["partition_score"] for edge, c in record["candidates"].items()}
    assert max(scores.values()) < 1e6, scores
    assert all(c["excluded_batches"] == [] for c in record["candidates"].values())


def test_other_edges_are_drawn_among_the_choices_that_keep_the_edge_on_a_path():
    from naslid.method.profile import other_edges
    from naslid.spaces.nb201.encoding import edge_on_path

    model = Supernet(4, 1, 10)
    generator = torch.Generator().manual_seed(0)
    for edge in range(len(EDGES)):
        draws = [other_edges(model, edge, generator) for _ in range(300)]
        assert all(edge_on_path(d, edge) for d in draws)
        # Among *all* those choices: every op that some of them give another edge appears there.
        valid = [
            ops
            for ops in itertools.product(range(len(OPS)), repeat=len(EDGES))
            if edge_on_path(tuple((o,) for o in ops), edge)
        ]
        for e in range(len(EDGES)):
            if e != edge:
                assert {d[e][0] for d in draws} == {ops[e] for ops in valid}


def test_an_edge_no_architecture_of_the_mask_puts_on_a_path_is_an_error(trained):
    config, _, dataset = trained
    mask = full_mask()
    mask[0] = [True, False, False, False, False]  # 1<-0 only `none`: node 1 is never fed, so 2<-1 is dead
    with pytest.raises(NaslidError, match="lies on no input-to-output path"):
        profile_edge(config, Supernet(4, 1, 10, mask=mask), dataset, edge=2, sub_id="0")


def test_ops_share_the_batch_and_the_other_edges(trained):
    """Two identical candidates give identical profiles only if every candidate sees the same
    batch and the same other-edge choices, which is what makes the profiles comparable."""
    config, model, dataset = trained
    table = profile_edge(config, model, dataset, edge=5, sub_id="", candidates=[(1,), (1,)])
    per_batch = table.groupby(["batch", "layer"])["lid"].nunique()
    assert (per_batch == 1).all()


def test_group_profile_is_the_sum_of_outputs_eq4(trained):
    _, model, dataset = trained
    model.eval()
    cell = model.layers[0]
    with torch.no_grad():
        x = model.stem(dataset.normalise(dataset.train.images[:32]))
        arch = ((3,), (1,), (2, 3), (2,), (4,), (1,))  # edge 2<-1 keeps {nor_conv_1x1, nor_conv_3x3}
        n1 = cell.ops[0]["nor_conv_3x3"](x)
        n2 = cell.ops[1]["skip_connect"](x) + cell.ops[2]["nor_conv_1x1"](n1) + cell.ops[2]["nor_conv_3x3"](n1)
        n3 = cell.ops[3]["nor_conv_1x1"](x) + cell.ops[4]["avg_pool_3x3"](n1) + cell.ops[5]["skip_connect"](n2)
        assert torch.allclose(cell(x, arch), n3, atol=1e-6)


def test_four_rounds_give_16_disjoint_sub_supernets_covering_the_space(trained):
    config, model, dataset = trained
    level = [("", model)]
    for _ in range(4):
        next_level = []
        for sub_id, sub in level:
            table = pd.concat([profile_edge(config, sub, dataset, e, sub_id) for e in unpartitioned_edges(sub.mask)])
            record = split(config, table, sub.mask, sub_id)
            assert [record["edge"], record["groups"]] == [
                *choice_by_hand(table, sub.mask, "partition-score", config["lid"]["eps"])
            ]
            next_level += [(c["id"], Supernet.from_parent(sub, mask_from_lists(c["mask"]))) for c in record["children"]]
        level = next_level
    assert sorted(sub_id for sub_id, _ in level) == sorted("".join(bits) for bits in itertools.product("01", repeat=4))
    counts = np.zeros(NUM_ARCHS, dtype=int)
    for _, sub in level:
        counts += [mask_contains(sub.mask, arch) for arch in all_archs()]
    assert (counts == 1).all()  # disjoint and covering, by enumeration of all 15,625


def test_official_code_edge_rule_picks_the_highest_cut(trained):
    config, model, dataset = trained
    table = pd.concat([profile_edge(config, model, dataset, e) for e in range(len(EDGES))])
    config = {**config, "split": {**config["split"], "edge_rule": "official-code"}}
    record = split(config, table, model.mask, "")
    assert [record["edge"], record["groups"]] == [
        *choice_by_hand(table, model.mask, "official-code", config["lid"]["eps"])
    ]


def test_both_edge_rules_choose_as_by_hand_on_random_profiles(tmp_path):
    """Random tidy profile tables (6 edges, 5 ops, 2 batches, 3 layers): each rule's choice is the one
    computed by hand, and on some tables the rules disagree, so each rule is tested, not just one."""
    config = tiny_config(tmp_path)
    disagreements = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        table = pd.DataFrame(
            [
                ("", edge, op, b, layer, rng.uniform(1, 20))
                for edge in EDGES
                for op in OPS
                for b in range(2)
                for layer in range(3)
            ],
            columns=["id", "edge", "op", "batch", "layer", "lid"],
        )
        chosen = {}
        for rule in ("partition-score", "official-code"):
            record = split({**config, "split": {**config["split"], "edge_rule": rule}}, table, full_mask(), "")
            chosen[rule] = [record["edge"], record["groups"]]
            assert chosen[rule] == [*choice_by_hand(table, full_mask(), rule, config["lid"]["eps"])], (seed, rule)
        disagreements += chosen["partition-score"][0] != chosen["official-code"][0]
    assert disagreements > 0


def test_children_masks_keep_one_group_each():
    mask = full_mask()
    left, right = children_masks(
        NB201Space(), mask, EDGES[3], [["none", "skip_connect"], ["nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]]
    )
    assert left[3].tolist() == [True, True, False, False, False] and right[3].tolist() == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert (left[[0, 1, 2, 4, 5]]).all()


def test_pearson_similarity_of_constant_profiles_is_defined():
    flat, other, varying = np.zeros(4), np.full(4, 2.0), np.array([1.0, 2.0, 3.0, 5.0])
    assert similarity(flat, other, "pearson", eps=0.5) == pytest.approx(1 / 0.5)  # r = 1
    assert similarity(flat, varying, "pearson", eps=0.5) == pytest.approx(1 / 1.5)  # r = 0


def test_empty_profile_tables_of_split_edges_do_not_change_column_types(tmp_path):
    import pandas as pd

    from naslid.method.profile import COLUMNS, read_profiles, write_profile

    write_profile(pd.DataFrame([("", "1<-0", "none", 0, 0, 1.5)], columns=COLUMNS), tmp_path / "a.csv")
    write_profile(pd.DataFrame(columns=COLUMNS), tmp_path / "b.csv")
    table = read_profiles([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert table["lid"].dtype == float and len(table) == 1
