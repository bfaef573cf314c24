"""The proxy task: 10 classes of textured shapes on 16x16 RGB images, generated, never downloaded.

Each image shows one shape (disc, ring, square, plus, diagonal cross) filled with one texture
(stripes or a checkerboard); the class is the pair: shape + 5 * texture. What varies at random, per
image, so that no shortcut remains:
- position (up to 2 px off centre) and size (75-100% of the half-width): the network must find the
  shape, not read fixed pixels;
- texture orientation (any angle) and period (3.5-5 px): stripes vs checkerboard is a local
  2-D pattern, which 3x3 convolutions see and 1x1 convolutions, pooling or skips do not;
- the colours (background, texture ink, texture paper) and which of them is lighter: colour
  carries no label, yet contrast is always enough to see shape and texture;
- Gaussian pixel noise (sigma 0.05 of the range).
Shapes need spatial context (several layers or pooling), textures need local 3x3 filters, and a
3x3 average pool blurs a 3.5-5 px texture away, so NB201's ops genuinely differ on this task.

How it was tuned (measured with the ground-truth recipe, C=8, N=1, 8 epochs, 2 seeds): with fully
independent random colours, a shape sometimes had no contrast with its background; accuracy then
capped near 80% for every good architecture and the best quarter of a 105-architecture sample
ranked in opposite order on the two seeds (Kendall tau -0.43). With the contrast rule, the same
best architectures reach 95-99% and their seeds agree (tau 0.37 over 16, mean seed gap 0.6 points).
Fewer epochs (3) made seeds disagree by up to 34 points; more noise (0.2) capped accuracy again.

The splits are fixed (seed 20230207): 6,000 training, 2,000 validation and 2,000 test images. They
are part of the task's definition, because the shipped ground-truth table
(`naslid/data/proxy_benchmark.csv`) was measured on exactly these images.
"""

from __future__ import annotations

import numpy as np

SIZE = 16
SPLIT_SIZES = {"train": 6000, "valid": 2000, "test": 2000}
SEED = 20230207
NOISE = 0.05
TEXTURE_CONTRAST = (0.3, 0.4)  # brightness gap between a texture's two colours, drawn uniformly
# Ranges of the texture period in px. One range: the period is a nuisance, as in the shipped task.
# Several: the range is part of the class (10 classes per range), a finer distinction that
# scripts/proxy_seed_trial.py screens (naslid/data/README.md).
PERIOD_BINS = ((3.5, 5.0),)
SHAPES = ("disc", "ring", "square", "plus", "cross")
TEXTURES = ("stripes", "checkerboard")


def classes() -> tuple[str, ...]:
    names = [f"{shape}/{texture}" for texture in TEXTURES for shape in SHAPES]
    if len(PERIOD_BINS) == 1:
        return tuple(names)
    return tuple(f"{name}/period {low}-{high}" for low, high in PERIOD_BINS for name in names)


def generate(limit: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (uint8 images (n, 3, 16, 16), int64 labels (n,))}, the same on every call; with `limit`,
    the first `limit` images of each split (the same images: every random number is still drawn)."""
    rng = np.random.default_rng(SEED)
    return {name: render(rng, n, limit) for name, n in SPLIT_SIZES.items()}


def render(rng: np.random.Generator, n: int, keep: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`n` images from `rng`, of which the first `keep` are drawn (all of them by default). The random
    numbers of all `n` are drawn first, in one order, so the generator ends in the same state and
    image i is the same whatever `keep` is; only the drawing, most of the cost, is skipped."""
    labels = rng.integers(0, len(classes()), n)
    centre = (SIZE - 1) / 2 + rng.uniform(-2, 2, (2, n, 1, 1))
    scale = rng.uniform(0.75, 1.0, (n, 1, 1)) * SIZE / 2
    angle = rng.uniform(0, np.pi, (n, 1, 1))
    low, high = np.array(PERIOD_BINS).T[:, labels // (len(SHAPES) * len(TEXTURES))]
    period = rng.uniform(low, high)[:, None, None]
    ink = rng.uniform(0.15, 0.55, (n, 1, 1, 1)) + rng.uniform(-0.1, 0.1, (n, 3, 1, 1))
    gap = rng.uniform(*TEXTURE_CONTRAST, (n, 1, 1, 1))
    side = np.where(rng.random((n, 1, 1, 1)) < 0.5, -1.0, 1.0)
    away, tint = rng.uniform(0.3, 0.4, (n, 1, 1, 1)), rng.uniform(-0.1, 0.1, (n, 3, 1, 1))
    noise = rng.normal(0, NOISE, (n, 3, SIZE, SIZE))

    m = n if keep is None else min(keep, n)
    labels, centre, noise = labels[:m], centre[:, :m], noise[:m]
    scale, angle, period, ink, gap, side, away, tint = (
        a[:m] for a in (scale, angle, period, ink, gap, side, away, tint)
    )
    shape, texture = labels % len(SHAPES), labels // len(SHAPES) % len(TEXTURES)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    x, y = (xx - centre[0]) / scale, (yy - centre[1]) / scale
    inside = _shape_masks(x, y)[shape, np.arange(m)]
    u = (xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period
    v = (-xx * np.sin(angle) + yy * np.cos(angle)) * 2 * np.pi / period
    pattern = np.where(texture[:, None, None] == 0, np.sin(u), np.clip(2 * np.sin(u) * np.sin(v), -1, 1))

    # Colours are random but never hide the structure: the texture's two colours differ in
    # brightness by at least 0.3, and the background is at least 0.3 away from the fill's mean
    # brightness (darker or lighter at random), so the label is always visible: the task has no
    # irreducible error, and better networks keep getting closer to 100%.
    paper = ink + gap
    fill_mean = (ink + paper) / 2
    background = np.clip(fill_mean + side * away, 0.0, 1.0) + tint
    fill = ink + (paper - ink) * (pattern[:, None] * 0.5 + 0.5)
    images = np.where(inside[:, None], fill, background) + noise
    return np.clip(images * 255, 0, 255).astype(np.uint8), labels.astype(np.int64)


def _shape_masks(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(shapes, n, H, W) booleans, in the order of SHAPES; x, y are centred, scaled coordinates."""
    r = np.sqrt(x**2 + y**2)
    box = np.maximum(abs(x), abs(y))
    return np.stack(
        [
            r < 0.75,
            (r > 0.4) & (r < 0.85),
            box < 0.65,
            ((abs(x) < 0.25) & (abs(y) < 0.85)) | ((abs(y) < 0.25) & (abs(x) < 0.85)),
            ((abs(x - y) < 0.35) | (abs(x + y) < 0.35)) & (box < 0.8),
        ]
    )
