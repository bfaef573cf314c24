"""Routing, evaluation, evolution, query and ranking correlation."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from conftest import PYTHON, REPO, tiny_config
from naslid.config import load_config
from naslid.data import load_dataset
from naslid.errors import NaslidError
from naslid.method.evaluate import Evaluator, route
from naslid.method.evolution import _two_parents, evolve
from naslid.runtime.preempt import RESUMED
from naslid.method.stats import correlations
from naslid.spaces.nb201.ground_truth import protocol_archs
from naslid.spaces.nb201.encoding import EDGES, OPS, Arch, all_archs, full_mask
from naslid.spaces.nb201 import NB201Space
from naslid.method.split import children_masks
from naslid.spaces.nb201.network import Supernet


def _random_split_masks(rounds, seed):
    """The final masks of `rounds` rounds of two-way splits, with random edges and groups."""
    rng = np.random.default_rng(seed)
    masks = [full_mask()]
    for _ in range(rounds):
        next_masks = []
        for mask in masks:
            edge = int(rng.choice([e for e in range(len(EDGES)) if mask[e].all()]))
            ops = list(OPS)
            rng.shuffle(ops)
            cut = int(rng.integers(1, len(ops)))
            next_masks += children_masks(NB201Space(), mask, EDGES[edge], [ops[:cut], ops[cut:]])
        masks = next_masks
    return masks


@pytest.mark.parametrize("rounds, seed", [(0, 0), (1, 1), (3, 2), (4, 3)])
def test_every_architecture_is_routed_to_exactly_one_sub_supernet(rounds, seed):
    masks = _random_split_masks(rounds, seed)
    assert len(masks) == 2**rounds
    counts = np.zeros(len(masks), dtype=int)
    for arch in all_archs():
        counts[route(arch, masks, NB201Space())] += 1  # route raises unless exactly one mask holds arch
    assert counts.sum() == 15625 and (counts > 0).all()


def test_routing_rejects_sets_that_do_not_partition_the_space():
    masks = _random_split_masks(2, 0)
    outside = next(a for a in all_archs() if route(a, masks, NB201Space()) != 0)
    with pytest.raises(NaslidError, match="lies in 0 sub-supernets"):
        route(outside, masks[:1], NB201Space())
    with pytest.raises(NaslidError, match="lies in 2 sub-supernets"):
        route(Arch.from_index(0), [full_mask(), full_mask()], NB201Space())


def test_evaluator_uses_the_sub_supernet_that_holds_the_arch_and_caches(tmp_path):
    config = tiny_config(tmp_path, evaluate={"batches": 2, "batch_size": 64})
    dataset = load_dataset(config["data"])
    masks = _random_split_masks(1, 5)
    torch.manual_seed(0)
    supernets = [Supernet(4, 1, 10, m) for m in masks]
    evaluator = Evaluator(config, supernets, ["0", "1"], dataset, torch.device("cpu"))
    arch = next(a for a in all_archs() if route(a, masks, NB201Space()) == 1)
    score = evaluator(arch)
    assert evaluator.sub_id(arch) == "1"
    with torch.no_grad():  # the same number, computed by hand with the second supernet
        supernets[1].train()
        correct = sum((supernets[1](x, arch).argmax(1) == y).sum().item() for x, y in evaluator.valid)
    assert score == pytest.approx(100 * correct / 128)
    supernets[1].classifier.weight.data.zero_()  # a cached estimate is not recomputed
    assert evaluator(arch) == score


def test_recalibration_estimates_with_fresh_statistics_and_leaves_the_supernet_unchanged(tmp_path):
    """`bn: recalibrate` equals a by-hand recalibration of a copy (running statistics reset, the
    calibration batches forwarded in train mode, then eval mode), differs from evaluating with the
    supernet's own running statistics, and leaves the supernet's buffers as they were."""
    import copy
    from itertools import islice

    from naslid.data import batches

    config = tiny_config(
        tmp_path, evaluate={"bn": "recalibrate", "batches": 4, "batch_size": 64, "recalibration_batches": 2}
    )
    dataset = load_dataset(config["data"])
    torch.manual_seed(0)
    supernet, arch = Supernet(4, 1, 10), Arch.from_index(9930)
    with torch.no_grad():  # running statistics far from any batch's, as after training on other paths
        for module in supernet.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.fill_(3.0)
                module.running_var.fill_(0.01)
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    score = Evaluator(config, [supernet], [""], dataset, torch.device("cpu"))(arch)
    assert all(torch.equal(before[k], v) for k, v in supernet.state_dict().items())

    def accuracy(model):
        valid = islice(batches(dataset, dataset.valid, 64, None), 4)
        return 100 * sum((model(x, arch).argmax(1) == y).sum().item() for x, y in valid) / 256

    by_hand = copy.deepcopy(supernet)
    with torch.no_grad():
        stale = accuracy(by_hand.eval())
        for module in by_hand.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None
        by_hand.train()
        for images, _ in islice(batches(dataset, dataset.train, 64, torch.Generator().manual_seed(config["seed"])), 2):
            by_hand(images, arch)
        recalibrated = accuracy(by_hand.eval())
    assert score == pytest.approx(recalibrated) and score != pytest.approx(stale)


def _hamming_fitness(target):
    return lambda arch: float(sum(a == b for a, b in zip(arch.ops, target.ops)))


@pytest.mark.slow(reason="a whole evolutionary search (30 s)")
def test_evolution_finds_a_known_optimum_within_the_default_budget():
    target = Arch.from_index(9930)
    result = evolve(_hamming_fitness(target), load_config(None)["evolve"], seed=9930, space=NB201Space())
    assert result["best"][0]["arch"] == target.to_str()
    assert len(result["evaluated"]) == 50 * 50
    assert len({tuple(e["ops"]) for e in result["evaluated"]}) == 2500  # no architecture visited twice


@pytest.mark.parametrize("n", [1, 2, 3, 10, 50])
def test_two_parents_are_drawn_as_numpy_choice_draws_them(n):
    """The crossover's parent pair is rng.choice(n, 2, replace=n < 2), draw for draw: the same pairs
    and the same generator state after them, for many seeds (else every search's result changes)."""
    for seed in range(200):
        ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(10):
            assert _two_parents(ours, n) == numpys.choice(n, 2, replace=n < 2).tolist()
            assert ours.random() == numpys.random()  # interleaved with other draws, as in a crossover
        assert ours.bit_generator.state == numpys.bit_generator.state


def test_evolution_is_deterministic_and_follows_the_official_schedule():
    ecfg = load_config(None, {"evolve": {"generations": 6}})["evolve"]
    fitness = _hamming_fitness(Arch.from_index(777))
    a, b = evolve(fitness, ecfg, seed=4, space=NB201Space()), evolve(fitness, ecfg, seed=4, space=NB201Space())
    assert a == b
    assert evolve(fitness, ecfg, seed=5, space=NB201Space())["evaluated"] != a["evaluated"]
    assert [g["generation"] for g in a["generations"]] == list(range(6))
    maxima = [g["best_so_far"] for g in a["generations"]]
    assert maxima == sorted(maxima)  # the best seen never gets worse


@pytest.mark.slow(reason="a whole evolutionary search on NB201 (30 s)")
def test_evolution_on_the_nb201_landscape_finds_its_optimum(nb201_table):
    """On NB201's real cifar10-valid landscape (a fitness with a known optimum, index 6111)."""
    accuracy = nb201_table["cifar10_valid"].to_numpy()
    result = evolve(lambda arch: accuracy[arch.index], load_config(None)["evolve"], seed=0, space=NB201Space())
    assert Arch.from_str(result["best"][0]["arch"]).index == 6111


def test_evolution_resumes_from_its_generation_checkpoint(tmp_path, capsys):
    """Resumed, not restarted: a search from scratch would end equal too (it is seeded), so the resume
    must say it starts at generation 2 of 5 and score only the architectures of generations 2-4."""
    ecfg = load_config(None, {"evolve": {"generations": 5}})["evolve"]
    fitness = _hamming_fitness(Arch.from_index(4242))
    clean = evolve(fitness, ecfg, seed=1, space=NB201Space())

    class Killed(Exception):
        pass

    def kill_after_two(state):
        if state["generation"] == 2:
            raise Killed

    resume = tmp_path / "evolve.json.resume"
    with pytest.raises(Killed):
        evolve(fitness, ecfg, seed=1, space=NB201Space(), resume=resume, on_generation=kill_after_two)
    assert torch.load(resume, weights_only=False)["state"]["progress"]["generation"] == 2
    capsys.readouterr()
    scored = []
    assert (
        evolve(lambda arch: scored.append(arch) or fitness(arch), ecfg, seed=1, space=NB201Space(), resume=resume)
        == clean
    )
    assert RESUMED.findall(capsys.readouterr().err) == [("evolve", "generation", "2", "5")]
    assert scored == [Arch(tuple(e["ops"])) for e in clean["evaluated"] if e["generation"] >= 2]


def test_correlations_match_scipy_on_the_top_k():
    rng = np.random.default_rng(0)
    truth = sorted(rng.uniform(0, 100, 60), reverse=True)
    estimate = list(np.array(truth) + rng.normal(0, 10, 60))
    rows = correlations(truth, estimate, [10, 50, 100])
    assert rows[0]["kendall_tau"] == pytest.approx(scipy.stats.kendalltau(truth[:10], estimate[:10])[0])
    assert rows[1]["spearman_rho"] == pytest.approx(scipy.stats.spearmanr(truth[:50], estimate[:50])[0])
    assert rows[2]["kendall_tau"] is None and "only 60" in rows[2]["note"]
    assert correlations(truth, truth, [20])[0]["kendall_tau"] == pytest.approx(1.0)
    assert correlations(truth, [-t for t in truth], [20])[0]["spearman_rho"] == pytest.approx(-1.0)


def test_gm_nas_protocol_is_the_top_one_percent_of_nb201(nb201_table):
    from conftest import NB201_TABLE
    from naslid.spaces.nb201.ground_truth import CompactTable

    archs = protocol_archs(CompactTable(NB201_TABLE), "cifar10_test", None)
    truth = [t for _, t in archs]
    assert len(archs) == 157  # ceil(1% of 15,625); GM-NAS says "about 156"
    assert truth == sorted(truth, reverse=True)
    assert round(min(truth), 2) == 93.78 and round(max(truth), 2) == 94.37


def _naslid(*args):
    return subprocess.run([PYTHON, "-m", "naslid.cli", *map(str, args)], capture_output=True, text=True, cwd=REPO)


@pytest.fixture()
def small_table(tmp_path):
    path = tmp_path / "table.csv"
    rows = [
        {"index": i, "arch": Arch.from_index(i).to_str(), "proxy_valid": 50.0 + i / 100, "proxy_test": 40.0 + i / 100}
        for i in (3, 9930)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    config = tmp_path / "c.yaml"
    config.write_text(f"benchmark: {{path: {path}}}\n")
    return config


def test_query_prints_an_architectures_accuracies(small_table):
    out = _naslid("query", "--config", small_table, "--arch", Arch.from_index(9930).to_str())
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["index"] == 9930 and answer["proxy_test"] == pytest.approx(139.3)
    assert answer["reference"]["cifar100_test"] == pytest.approx(73.5133, abs=1e-3)  # the shipped NB201 table
    assert "cifar100_valid" in answer["reference"]["missing"]


@pytest.mark.parametrize(
    "arch, message",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "malformed architecture string"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
        (Arch.from_index(42).to_str(), "is not in the benchmark"),
    ],
)
def test_query_rejects_bad_or_unknown_archs_with_one_message(small_table, arch, message):
    out = _naslid("query", "--config", small_table, "--arch", arch)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("naslid query: error:") and message in lines[0]


def test_evolution_within_a_sampled_benchmark_visits_only_its_rows_and_stops_when_done():
    candidates = [Arch.from_index(i) for i in range(0, 15625, 97)][:120]
    target = candidates[77]
    ecfg = load_config(None, {"evolve": {"generations": 10}})["evolve"]
    result = evolve(_hamming_fitness(target), ecfg, seed=0, space=NB201Space(), candidates=candidates)
    visited = [Arch(tuple(e["ops"])) for e in result["evaluated"]]
    assert set(visited) == set(candidates) and len(visited) == 120  # all 120, each once, then it stops
    assert len(result["generations"]) == 3 and result["best"][0]["arch"] == target.to_str()
