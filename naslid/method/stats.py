"""How sure a ranking correlation is: bootstrap intervals for Table 2 (and Tables 3, 5).

A rank correlation is measured on a sample of architectures, by a supernet trained from one seed.
Both are resampled: with one seed, architectures with replacement (the percentile bootstrap,
`scipy.stats.bootstrap(..., paired=True, method="percentile")` draws the same indices from the same
generator, which the tests use); with several seeds, first the seeds with replacement, then the
architectures within each drawn seed, and the statistic is the mean over the drawn seeds (a
two-level bootstrap: the seed-to-seed spread and the architecture sample both widen the interval).

Top-k: the k best architectures by ground truth are taken first and resampled among themselves, so
a top-50 interval is about those 50, not about which 50 a resample would call the best.

A paired difference (a criterion's tau minus `none`'s) resamples the same architecture indices for
both, and pairs a criterion's seed s with `none`'s seed s (they share the pretrained supernet), so
what the two rankings have in common cancels.

Everything is deterministic: one `numpy.random.Generator` seeded with `SEED`, `RESAMPLES` draws.

Also `correlations`: Kendall's tau and Spearman's rho (scipy) of the estimates over the k best
architectures by ground truth, for each k (`naslid rank`, Table 2).
"""

from __future__ import annotations

import numpy as np

# scipy.stats (1.3 s to import) is imported by the functions that use it: the workflow imports the
# tables stage, and so this module, at every Snakemake start to plan its targets.


def correlations(truth: list[float], estimate: list[float], top_k: list[int]) -> list[dict]:
    """Kendall tau and Spearman rho over the k first pairs (the k best by ground truth), for each k."""
    import scipy.stats
    rows = []
    for k in top_k:
        if k > len(truth):
            rows.append({"top_k": k, "n": len(truth), "kendall_tau": None, "spearman_rho": None,
                         "note": f"only {len(truth)} architectures"})
            continue
        rows.append({"top_k": k, "n": k, "kendall_tau": float(scipy.stats.kendalltau(truth[:k], estimate[:k])[0]),
                     "spearman_rho": float(scipy.stats.spearmanr(truth[:k], estimate[:k])[0])})
    return rows


RESAMPLES = 1000  # percentile bootstrap draws per interval; the 2.5/97.5 % ends move by ~0.01 between seeds of the generator
SEED = 2023       # of the generator, so a table is the same every time it is written
LEVEL = 0.95
_CHUNK = 50       # resamples per vectorised batch: 50 x n x n sign matrices (16 MB at n = 200)


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
    import scipy.stats
    rx = scipy.stats.rankdata(x, axis=-1)
    ry = scipy.stats.rankdata(y, axis=-1)
    rx -= rx.mean(-1, keepdims=True)
    ry -= ry.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx * rx).sum(-1) * (ry * ry).sum(-1))


STATISTICS = {"tau": kendall_tau, "rho": spearman_rho}


def top_k(truth: np.ndarray, k: int | None) -> np.ndarray:
    """Indices of the k best by ground truth (ties by position); None: all of them."""
    order = np.argsort(-np.asarray(truth, dtype=float), kind="stable")
    return order if k is None else order[:k]


def _resampled(x: np.ndarray, y: np.ndarray, statistic, index: np.ndarray) -> np.ndarray:
    """statistic(x[i], y[i]) for every row i of `index` (resamples x architectures), in chunks."""
    if statistic is kendall_tau:
        return _kendall_resampled(x, y, index)
    return np.concatenate([statistic(x[index[s:s + _CHUNK]], y[index[s:s + _CHUNK]])
                           for s in range(0, len(index), _CHUNK)])


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
    form = lambda m: ((w @ m) * w).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return form(sx * sy) / np.sqrt(form(np.abs(sx)) * form(np.abs(sy)))


def bootstrap(pairs: list[tuple[np.ndarray, np.ndarray]], statistic: str, *, resamples: int = RESAMPLES,
              seed: int = SEED, minus: list[tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
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
    drawn = rng.integers(0, seeds, (resamples, seeds)) if seeds > 1 else np.zeros((resamples, 1), dtype=int)
    values = np.empty((resamples, seeds))
    for s, (x, y) in enumerate(pairs):
        # The architectures of every seed slot are drawn whatever seed lands there: one draw per slot.
        index = rng.integers(0, len(x), (resamples, len(x)))
        for source in range(seeds):
            rows = np.flatnonzero(drawn[:, s] == source)
            if rows.size:
                values[rows, s] = _paired(fn, pairs[source], (minus or [None] * seeds)[source], index[rows])
    means = np.nanmean(values, axis=1)
    lo, hi = np.nanpercentile(means, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return {"mean": float(np.mean(per_seed)), "std": float(np.std(per_seed)) if seeds > 1 else None,
            "lo": float(lo), "hi": float(hi), "seeds": seeds, "n": len(pairs[0][0])}


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
