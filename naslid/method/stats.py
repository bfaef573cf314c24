"""How sure a ranking correlation is: bootstrap intervals for Table 2 (and Tables 3, 5), and its ceiling.

A rank correlation is measured on a sample of architectures, by a supernet trained from one seed.
Both are resampled. One replicate draws *one* set of architectures with replacement (the percentile
bootstrap, `scipy.stats.bootstrap(..., paired=True, method="percentile")` draws the same indices from
the same generator, which the tests use) and, with several seeds, the seeds with replacement; every
drawn seed is scored on that same set, since every seed ranks the same architectures, and the
statistic is the mean over the drawn seeds. So seeds that agree give the one-seed interval, and the
seed-to-seed spread widens it only as far as the seeds differ.

Top-k: the k best architectures by ground truth, and every architecture tied with the k-th (so a
"top-50" may hold 52; `best` selects them, `tied_at_cut` says how many were tied at the cut); they are resampled among
themselves, so a top-50 interval is about those architectures, not about which 50 a resample would
call the best.

A paired difference (a criterion's tau minus `none`'s) resamples the same architecture indices for
both, and pairs a criterion's seed s with `none`'s seed s (they share the pretrained supernet), so
what the two rankings have in common cancels. Its two-sided p-value (from the bootstrap's standard
error) feeds `holm`, the correction for the many paired tests of one table.

The ceiling (`ceiling`): what a perfect estimate of each architecture's expected accuracy would score
against a ground truth measured with noise, by a parametric bootstrap from the benchmark's own seed
differences (see there).

Everything is deterministic: one `numpy.random.Generator` seeded with `SEED`, `RESAMPLES` draws.

Also `correlations`: Kendall's tau and Spearman's rho (scipy) of the estimates over the k best
architectures by ground truth, for each k (`naslid rank`, Table 2).
"""

from __future__ import annotations

import math

import numpy as np

# scipy.stats (1.5 s to import on 2 cores) is not imported by what the rank jobs run: Kendall's tau-b and
# Spearman's rho are computed here (tests/test_stats.py checks them against scipy); only Table 3's t
# interval imports it, in the one function that uses it.


def correlations(truth: list[float], estimate: list[float], top_k: list[int]) -> list[dict]:
    """Kendall tau and Spearman rho over the k best by ground truth (every one tied at the cut in), for each k."""
    truth, estimate = np.asarray(truth, dtype=float), np.asarray(estimate, dtype=float)
    rows = []
    for k in top_k:
        if k > len(truth):
            rows.append(
                {
                    "top_k": k,
                    "n": len(truth),
                    "kendall_tau": None,
                    "spearman_rho": None,
                    "note": f"only {len(truth)} architectures",
                }
            )
            continue
        index = np.sort(best(truth, k))
        rows.append(
            {
                "top_k": k,
                "n": len(index),
                "kendall_tau": float(kendall_tau(truth[index], estimate[index])),
                "spearman_rho": float(spearman_rho(truth[index], estimate[index])),
            }
        )
    return rows


RESAMPLES = (
    1000  # percentile bootstrap draws per interval; the 2.5/97.5 % ends move by ~0.01 between seeds of the generator
)
SEED = 2023  # of the generator, so a table is the same every time it is written
LEVEL = 0.95
_CHUNK = 50  # resamples per vectorised batch: 50 x n x n sign matrices (16 MB at n = 200)


def kendall_tau(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b along the last axis (scipy's default), vectorised over leading axes.

    tau_b = sum_{i,j} sgn(x_i - x_j) sgn(y_i - y_j) / sqrt(pairs untied in x * pairs untied in y);
    resampling with replacement creates ties, which tau-b discounts as scipy does.
    """
    sx, sy = _signs(x), _signs(y)
    untied = np.count_nonzero(sx, axis=(-1, -2)) * np.count_nonzero(sy, axis=(-1, -2)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sx * sy).sum((-1, -2), dtype=np.int64) / np.sqrt(untied)


def _signs(x: np.ndarray) -> np.ndarray:
    """sgn(x_i - x_j) as int8 (twice as fast as float signs at n = 200)."""
    return (x[..., :, None] > x[..., None, :]).astype(np.int8) - (x[..., :, None] < x[..., None, :])


def spearman_rho(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho along the last axis: Pearson's r of the average ranks (ties share a rank)."""
    rx, ry = average_ranks(x), average_ranks(y)
    rx -= rx.mean(-1, keepdims=True)
    ry -= ry.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx * rx).sum(-1) * (ry * ry).sum(-1))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n along the last axis, tied values sharing the mean of their ranks (scipy.stats.rankdata's
    default), vectorised over leading axes: within a run of ties in sorted order, the mean of its
    first and last position."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, axis=-1, kind="stable")
    ordered = np.take_along_axis(x, order, axis=-1)
    position = np.broadcast_to(np.arange(x.shape[-1]), x.shape)
    differs = ordered[..., 1:] != ordered[..., :-1]
    starts = np.concatenate([np.ones(x.shape[:-1] + (1,), bool), differs], axis=-1)
    ends = np.concatenate([differs, np.ones(x.shape[:-1] + (1,), bool)], axis=-1)
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, position, x.shape[-1] - 1), -1), axis=-1), -1)
    ranks = np.empty_like(ordered)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=-1)
    return ranks


STATISTICS = {"tau": kendall_tau, "rho": spearman_rho}


def best(truth: np.ndarray, k: int | None) -> np.ndarray:
    """Indices of the k best by ground truth and of every architecture tied with the k-th (best
    first, ties by position); None: all of them. Cutting a tie by position would let the table's
    index order decide which of equally good architectures count."""
    truth = np.asarray(truth, dtype=float)
    order = np.argsort(-truth, kind="stable")
    if k is None or k >= len(truth):
        return order
    return order[truth[order] >= truth[order[k - 1]]]


def tied_at_cut(truth: np.ndarray, k: int | None) -> int:
    """How many architectures share the k-th best ground truth (1: no tie at the cut)."""
    truth = np.asarray(truth, dtype=float)
    if k is None or k >= len(truth):
        return 1
    return int(np.count_nonzero(truth == np.sort(truth)[::-1][k - 1]))


def _resampled(x: np.ndarray, y: np.ndarray, statistic, index: np.ndarray) -> np.ndarray:
    """statistic(x[i], y[i]) for every row i of `index` (resamples x architectures), in chunks."""
    if statistic is kendall_tau:
        return _kendall_resampled(x, y, index)
    return np.concatenate(
        [statistic(x[index[s : s + _CHUNK]], y[index[s : s + _CHUNK]]) for s in range(0, len(index), _CHUNK)]
    )


def _kendall_resampled(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> np.ndarray:
    """kendall_tau(x[i], y[i]) for every row i of `index`, exactly, without n x n signs per resample.

    A resample is a count w_a of each architecture a; the sums over its pairs are quadratic forms of
    the original pairs' signs: sum sgn(dx) sgn(dy) = w' (Sx * Sy) w, untied pairs in x = w' |Sx| w
    (an architecture drawn twice is a pair with sign 0 in both, as it is in kendall_tau).
    """
    n = len(x)
    counts = np.bincount((index + n * np.arange(len(index))[:, None]).ravel(), minlength=len(index) * n)
    w = counts.reshape(len(index), n).astype(float)
    sx, sy = _signs(x).astype(float), _signs(y).astype(float)

    def form(m):
        return ((w @ m) * w).sum(-1)

    with np.errstate(invalid="ignore", divide="ignore"):
        return form(sx * sy) / np.sqrt(form(np.abs(sx)) * form(np.abs(sy)))


def bootstrap(
    pairs: list[tuple[np.ndarray, np.ndarray]],
    statistic: str,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    minus: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict:
    """Mean over seeds of statistic(x, y), its std over seeds and its percentile interval.

    `pairs` holds one (x, y) per seed, already restricted to the architectures compared. With
    `minus` (one (x, y) per seed, the same architectures in the same order) the statistic is the
    paired difference statistic(pairs[s]) - statistic(minus[s]), both on the same resampled indices.
    """
    assert len({len(x) for x, _ in pairs + (minus or [])}) == 1, "every seed compares the same architectures"
    fn = STATISTICS[statistic]
    per_seed = np.array([_value(fn, p, m) for p, m in zip(pairs, minus or [None] * len(pairs))])
    rng = np.random.default_rng(seed)
    seeds = len(pairs)
    # The architectures first, one set per replicate for every seed: with one seed this is exactly
    # scipy's stream, and identical seeds then give exactly the one-seed interval.
    by_seed = _replicates(fn, pairs, minus, rng, resamples)
    drawn = rng.integers(0, seeds, (resamples, seeds)) if seeds > 1 else np.zeros((resamples, 1), dtype=int)
    means = np.nanmean(np.take_along_axis(by_seed, drawn, axis=1), axis=1)
    lo, hi = _percentile_interval(means)
    result = {
        "mean": float(np.mean(per_seed)),
        "std": float(np.std(per_seed)) if seeds > 1 else None,
        "lo": float(lo),
        "hi": float(hi),
        "seeds": seeds,
        "n": len(pairs[0][0]),
    }
    if minus is not None:
        # Two-sided p-value of "no difference" from the bootstrap's standard error (a Wald test): a
        # count of replicates past 0 could not go below 2/1001, and Holm over a study's tens of tests
        # asks for less than 0.05/40.
        spread = float(np.nanstd(means))
        result["p"] = (
            float(math.erfc(abs(result["mean"]) / spread / math.sqrt(2))) if spread > 0 else float(result["mean"] == 0)
        )
    return result


def _replicates(fn, pairs: list, minus: list | None, rng, resamples: int) -> np.ndarray:
    """(resamples, seeds): the statistic of each seed (minus its paired one) on one set of resampled
    architectures per replicate, shared by every seed, drawn first from `rng`."""
    index = rng.integers(0, len(pairs[0][0]), (resamples, len(pairs[0][0])))
    return np.stack([_paired(fn, pair, m, index) for pair, m in zip(pairs, minus or [None] * len(pairs))], axis=1)


def _percentile_interval(means: np.ndarray) -> tuple[float, float]:
    return tuple(np.nanpercentile(means, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2]))


def half_widths(
    pairs: list[tuple[np.ndarray, np.ndarray]],
    minus: list[tuple[np.ndarray, np.ndarray]],
    seeds: tuple[int, ...] = (5, 10, 20, 40),
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict:
    """How many seeds a paired interval (`bootstrap(pairs, "tau", minus=minus)`) needs to be tight.

    `floor`: the half-width from the architectures alone (every seed kept in every replicate), which
    no number of seeds goes below; `m`: the half-width if m seeds were drawn like these, the seeds
    resampled m at a time (a projection that takes the observed seeds' spread for the true one)."""
    rng = np.random.default_rng(seed)
    by_seed = _replicates(STATISTICS["tau"], pairs, minus, rng, resamples)

    def half_width(means: np.ndarray) -> float:
        lo, hi = _percentile_interval(means)
        return float(hi - lo) / 2

    widths = {"floor": half_width(np.nanmean(by_seed, axis=1))}
    for m in seeds:
        drawn = rng.integers(0, len(pairs), (resamples, m))
        widths[m] = half_width(np.nanmean(np.take_along_axis(by_seed, drawn, axis=1), axis=1))
    return widths


def holm(p_values: dict, level: float = 1 - LEVEL) -> set:
    """The keys whose tests Holm's step-down procedure rejects at family-wise error `level`: the
    smallest p against level/m, the next against level/(m-1), ..., stopping at the first that fails."""
    rejected = set()
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    for i, (key, p) in enumerate(ordered):
        if p > level / (len(ordered) - i):
            break
        rejected.add(key)
    return rejected


def _value(fn, pair, minus) -> float:
    value = float(fn(*map(np.asarray, pair)))
    return value - float(fn(*map(np.asarray, minus))) if minus is not None else value


def _paired(fn, pair, minus, index: np.ndarray) -> np.ndarray:
    x, y = map(np.asarray, pair)
    values = _resampled(x, y, fn, index)
    if minus is not None:
        mx, my = map(np.asarray, minus)
        values = values - _resampled(mx, my, fn, index)
    return values


def seed_interval(values) -> tuple[float, float] | None:
    """Student-t 95 % interval of a mean over seeds (Table 3's searched accuracies); None below two seeds.

    Seeds are the only thing to resample there, and a percentile bootstrap over three values can only
    return their range's interior: the t interval widens with few seeds, as it should.
    """
    import scipy.stats

    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(values) < 2:
        return None
    half = scipy.stats.t.ppf((1 + LEVEL) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


CEILING_WINDOW = 20  # rank neighbours whose seed differences stand for one architecture's training noise
CEILING_INNER = 40  # outer x inner replicates of the ceiling's bias correction
CEILING_INNER_RESAMPLES = 100


def ceiling(
    first,
    second,
    truth: str,
    ks: list,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    inner: tuple[int, int] = (CEILING_INNER, CEILING_INNER_RESAMPLES),
) -> dict:
    """Kendall tau that a perfect estimate of each architecture's expected accuracy would score against
    the ground truth, for each k in `ks` (None: all): {k: {"mean", "lo", "hi", "n"}}.

    The benchmark trained every architecture twice (`first`, `second`); the ground truth is their mean
    (`truth="mean"`, the proxy table) or the second alone (`truth="second"`). Neither is the expected
    accuracy, so even a perfect estimate of it does not rank the ground truth perfectly; and the
    agreement of the two trainings with each other (tau(first, second)) understates that ceiling, since
    each side carries a whole training's noise. A parametric bootstrap from the table's own seed
    differences measures it instead:

    1. take the ground truth g as the expected accuracy, and the seed differences d = first - second;
    2. retrain every architecture twice in simulation: g plus, per training, a seed difference of one of
       its `CEILING_WINDOW` rank neighbours by g, divided by sqrt 2, with a random sign (the noise of
       one training: d is the difference of two), and build that replicate's ground truth g* as the
       benchmark builds its own;
    3. score the perfect estimate g against g* like a criterion: tau over all, and over the top-k by g*
       (ties at the cut in, as `best`);
    4. taking g (which carries noise) as the truth overstates the spread of the expected accuracies,
       most among the top few, where they are close: the same procedure applied to `CEILING_INNER`
       simulated benchmarks (`inner`: how many, and replicates of each), whose truth is known,
       measures that bias, and it is subtracted.

    The value is the median replicate, the interval its 2.5-97.5 % percentiles, both less the bias.
    Checked on synthetic benchmarks with known expected accuracies (tests/test_stats.py).
    """
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if truth not in ("mean", "second"):
        raise ValueError(f"truth must be 'mean' or 'second', got {truth!r}")
    rng = np.random.default_rng(seed)
    make = (lambda a, b: (a + b) / 2) if truth == "mean" else (lambda a, b: b)
    g = make(first, second)
    values = _perfect_estimate_taus(first, second, make, ks, rng, resamples)
    outer = _retrained(g, first - second, rng, inner[0])
    bias = {k: [] for k in ks}
    for a, b in zip(*outer):
        simulated = _perfect_estimate_taus(a, b, make, ks, rng, inner[1])
        g_star = make(a, b)
        for k in ks:
            index = best(g_star, k)
            bias[k].append(np.median(simulated[k]) - float(kendall_tau(g[index], g_star[index])))
    out = {}
    for k in ks:
        shift = float(np.mean(bias[k]))
        lo, hi = np.percentile(values[k], [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
        out[k] = {
            "mean": float(np.median(values[k])) - shift,
            "lo": float(lo) - shift,
            "hi": float(hi) - shift,
            "bias": shift,
            "n": len(best(g, k)),
        }
    return out


def _perfect_estimate_taus(first, second, make, ks, rng, resamples) -> dict:
    """tau(g, g*) of `resamples` simulated retrainings around g = make(first, second), per k."""
    g = make(first, second)
    a, b = _retrained(g, first - second, rng, resamples)
    taus = {k: np.empty(resamples) for k in ks}
    for r in range(resamples):
        g_star = make(a[r], b[r])
        for k in ks:
            index = best(g_star, k)
            taus[k][r] = kendall_tau(g[index], g_star[index])
    return taus


def _retrained(g: np.ndarray, d: np.ndarray, rng, resamples: int) -> tuple[np.ndarray, np.ndarray]:
    """Two simulated trainings of every architecture, `resamples` times: (resamples, n) each."""
    n = len(g)
    window = min(CEILING_WINDOW, n)
    order = np.argsort(-g, kind="stable")
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(n)
    start = np.clip(rank - window // 2, 0, n - window)  # the window of rank neighbours around each
    trainings = []
    for _ in range(2):
        neighbour = order[start[None, :] + rng.integers(0, window, (resamples, n))]
        trainings.append(g + d[neighbour] / np.sqrt(2) * rng.choice([-1.0, 1.0], (resamples, n)))
    return trainings[0], trainings[1]
