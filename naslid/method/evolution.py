"""Evolutionary search over a space, with any fitness (`naslid evolve` scores by the routed supernet).

The official NAS-LID code's scheme, which is the default (`evolve` in the config): generation 0 is
`mutations + crossovers + randoms` uniform architectures. Every later generation takes the best
`parents` architectures seen so far and makes
- `mutations` children: a random parent, each edge re-drawn to a *different* op with `mutation_prob`;
- `crossovers` children: two random parents, each edge taken from the second with `crossover_prob`;
- `randoms` uniform draws.
An architecture already visited (in any generation, including this one) is rejected and drawn
again. Fitness is the supernet-estimated accuracy on the *validation* split (the official code
selects on CIFAR-10's test set; naslid does not look at test data while searching). Seeded and
deterministic. With `evolve.within_benchmark`, only the benchmark's architectures are visited: on a
sampled ground truth (the proxy table) every searched architecture then has a measured accuracy,
and the search ends early when all have been evaluated. After every generation the state is saved
to `<out>.resume`, so a killed search resumes and ends with the same result.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from naslid.runtime import preempt
from naslid.runtime.resume import ResumeFile, fingerprint

MAX_DRAWS = 1000  # attempts to find an unvisited child before falling back to a uniform draw


def evolve(
    fitness: Callable,
    ecfg: dict,
    seed: int,
    space,
    resume: Path | None = None,
    on_generation: Callable[[dict], None] | None = None,
    candidates: list | None = None,
    identity: str = "",
) -> dict:
    """Run the search; returns {evaluated: [{arch, generation, score}], generations: [stats], best: [...]}.

    With `candidates`, only those architectures are visited (a sampled benchmark's rows); the search
    stops early once every candidate has been evaluated. A `resume` file is used only if it was
    written by the same settings, seed, candidates and `identity` (what the fitness depends on).
    Architectures are drawn inside the `space`'s full mask (ProxylessNAS: no `skip` where a stage starts).
    """
    draw = _Draws(space)
    rng = np.random.default_rng(seed)
    state = {"generation": 0, "evaluated": []}
    saver = (
        None
        if resume is None
        else ResumeFile(
            resume,
            "evolve",
            fingerprint(ecfg, seed, None if candidates is None else sorted(a.index for a in candidates), identity),
        )
    )
    saved = None if saver is None else saver.load()
    if saved is not None:
        state = saved["progress"]
        rng.bit_generator.state = saved["rng"]
        preempt.resumed("evolve", "generation", state["generation"], ecfg["generations"], resume)

    visited = {tuple(e["ops"]) for e in state["evaluated"]}
    allowed = None if candidates is None else frozenset(a.ops for a in candidates)
    size = ecfg["mutations"] + ecfg["crossovers"] + ecfg["randoms"]
    bar = tqdm(range(state["generation"], ecfg["generations"]), desc="evolution", disable=None)
    for generation in bar:
        if generation == 0:
            population = [draw.random(rng, visited, allowed) for _ in range(size)]
        else:
            parents = [space.arch(e["ops"]) for e in _ranked(state["evaluated"])[: ecfg["parents"]]]
            population = (
                [draw.mutate(rng, parents, visited, ecfg["mutation_prob"], allowed) for _ in range(ecfg["mutations"])]
                + [
                    draw.crossover(rng, parents, visited, ecfg["crossover_prob"], allowed)
                    for _ in range(ecfg["crossovers"])
                ]
                + [draw.random(rng, visited, allowed) for _ in range(ecfg["randoms"])]
            )
        population = [arch for arch in population if arch is not None]  # None: every candidate visited
        if not population:
            break
        for arch in population:
            state["evaluated"].append(
                {"arch": arch.to_str(), "ops": list(arch.ops), "generation": generation, "score": float(fitness(arch))}
            )
        state["generation"] = generation + 1
        best = max(e["score"] for e in state["evaluated"])
        bar.set_postfix(best=f"{best:.2f}")
        if saver is not None:
            saver.save({"progress": state, "rng": rng.bit_generator.state})
        if on_generation is not None:
            on_generation(state)
        if resume is not None and generation + 1 < ecfg["generations"]:
            preempt.checkpoint_done(f"generation {generation + 1} of {ecfg['generations']} ({resume})")

    generations = []
    for g in range(state["generation"]):
        scores = np.array([e["score"] for e in state["evaluated"] if e["generation"] == g])
        generations.append(
            {
                "generation": g,
                "mean": float(scores.mean()),
                "std": float(scores.std()),
                "max": float(scores.max()),
                "best_so_far": float(max(e["score"] for e in state["evaluated"] if e["generation"] <= g)),
            }
        )
    return {
        "evaluated": state["evaluated"],
        "generations": generations,
        "best": _ranked(state["evaluated"])[: ecfg["best"]],
    }


def _ranked(evaluated: list[dict]) -> list[dict]:
    """Best first; ties keep the order of evaluation (a stable sort), so the result is deterministic."""
    return sorted(evaluated, key=lambda e: -e["score"])


class _Draws:
    """Random, mutated and crossed-over architectures inside the space's full mask, never one visited.

    `allowed` (a set of op tuples, or None for the whole space) restricts the draws to a sampled
    benchmark's rows. Each op of a position is drawn among the ops the space allows there.
    """

    def __init__(self, space):
        self.space = space
        self.options = [np.flatnonzero(row).tolist() for row in space.full_mask()]
        widths = {len(o) for o in self.options}
        self.width = widths.pop() if len(widths) == 1 else None  # every position has as many ops (NB201)

    def _claim(self, ops: tuple, visited: set):
        visited.add(ops)
        return self.space.arch(ops)

    def random(self, rng: np.random.Generator, visited: set, allowed: frozenset | None):
        if allowed is not None:
            left = sorted(allowed - visited)  # sorted: the draw depends on the seed only
            return self._claim(left[rng.integers(len(left))], visited) if left else None
        while True:
            if self.width is not None:  # one vectorised draw: NB201's stream, as before spaces were pluggable
                picks = rng.integers(0, self.width, len(self.options))
            else:
                picks = rng.integers(0, [len(o) for o in self.options])
            ops = tuple(int(o[i]) for o, i in zip(self.options, picks))
            if ops not in visited:
                return self._claim(ops, visited)

    @staticmethod
    def _unseen(ops: tuple, visited: set, allowed: frozenset | None) -> bool:
        return ops not in visited and (allowed is None or ops in allowed)

    def mutate(self, rng: np.random.Generator, parents: list, visited: set, prob: float, allowed: frozenset | None):
        for _ in range(MAX_DRAWS):
            parent = parents[rng.integers(len(parents))]
            ops = tuple(self._other_op(rng, e, o) if rng.random() < prob else o for e, o in enumerate(parent.ops))
            if self._unseen(ops, visited, allowed):
                return self._claim(ops, visited)
        return self.random(rng, visited, allowed)

    def _other_op(self, rng: np.random.Generator, position: int, op: int) -> int:
        """A different op than `op` among those the space allows at `position`, uniformly."""
        options = self.options[position]
        return int(options[(options.index(op) + rng.integers(1, len(options))) % len(options)])

    def crossover(self, rng: np.random.Generator, parents: list, visited: set, prob: float, allowed: frozenset | None):
        for _ in range(MAX_DRAWS):
            first, second = (parents[i] for i in _two_parents(rng, len(parents)))
            swaps = rng.random(len(first.ops)).tolist()  # the stream of one rng.random() per position
            ops = tuple(b if swap < prob else a for a, b, swap in zip(first.ops, second.ops, swaps))
            if self._unseen(ops, visited, allowed):
                return self._claim(ops, visited)
        return self.random(rng, visited, allowed)


def _two_parents(rng: np.random.Generator, n: int) -> list[int]:
    """`rng.choice(n, 2, replace=n < 2)`, drawn as numpy draws it (two distinct: Floyd's algorithm,
    then a shuffle), at half its overhead: a crossover that finds no unvisited child draws up to
    MAX_DRAWS pairs, and the search's stream, so its results, must not change (tests/test_search.py)."""
    if n < 2:
        return rng.choice(n, 2, replace=True).tolist()
    first, second = int(rng.integers(0, n - 1)), int(rng.integers(0, n))
    pair = [first, second if second != first else n - 1]
    return pair if rng.integers(0, 2) else pair[::-1]
