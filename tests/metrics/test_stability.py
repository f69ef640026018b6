import numpy as np
import pytest
import torch

from petra.metrics.stability import (
    GainStats, SeedStats, linear_cka, mean_ci, loss_volatility, pe_drift, steps_to_fraction,
)


def test_seed_stats():
    stats = SeedStats.of([0.5, 0.6, 0.7])
    assert stats.mean == pytest.approx(0.6) and stats.std == pytest.approx(0.1)
    assert stats.worst == 0.5 and stats.cv == pytest.approx(0.1 / 0.6)
    half = 4.302653 * 0.1 / 3 ** 0.5  # t(0.975, 2 df) x standard error
    assert (stats.ci_low, stats.ci_high) == pytest.approx((0.6 - half, 0.6 + half))


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_seed_ci_covers_the_true_mean_about_95_percent_of_the_time_with_few_seeds(seeds):
    """The interval of summary.csv and of the negative-transfer alarm: with 2-5 seeds a percentile bootstrap
    covered 51-84%; 1,000 draws put the t interval within 2 Monte Carlo errors (1.4 points) of 95%."""
    rng = np.random.default_rng(seeds)
    hits = sum(lo <= 0 <= hi for lo, hi in (mean_ci(rng.normal(0, 1, seeds)) for _ in range(1000)))
    assert 0.93 <= hits / 1000 <= 0.97


def test_negative_transfer_alarm_needs_the_whole_ci_below_zero():
    assert GainStats.of([0.40, 0.41, 0.39], [0.50, 0.52, 0.49]).negative_transfer
    # A negative mean whose CI straddles zero is not an alarm.
    assert not GainStats.of([0.40, 0.60, 0.45], [0.50, 0.50, 0.50]).negative_transfer
    assert not GainStats.of([0.6, 0.6], [0.5, 0.5]).negative_transfer
    assert not GainStats.of([0.4], [0.5]).negative_transfer  # one seed: no interval, no alarm


def test_steps_to_fraction():
    assert steps_to_fraction([10, 20, 30, 40], [0.2, 0.5, 0.96, 1.0]) == 30
    assert steps_to_fraction([], []) is None


def test_volatility_separates_smooth_from_oscillating_losses():
    smooth = np.linspace(2.0, 0.5, 200)
    noisy = smooth + 0.3 * (-1) ** np.arange(200)
    assert loss_volatility(smooth) < 0.01 < loss_volatility(noisy)


def test_pe_drift():
    table = torch.randn(16, 8)
    assert pe_drift({"t": table}, {"t": table.clone()}).relative_change == 0.0
    moved = pe_drift({"t": table}, {"t": 1.1 * table})
    assert moved.relative_change == pytest.approx(0.1)
    assert moved.cosine_structure_change == pytest.approx(0.0, abs=1e-6)  # scaling keeps directions
    assert pe_drift({}, {}) is None


def test_linear_cka_properties():
    x = torch.randn(100, 16)
    q, _ = torch.linalg.qr(torch.randn(16, 16))
    assert linear_cka(x, x @ q * 3.0) == pytest.approx(1.0)  # invariant to rotation and scale
    assert linear_cka(x, torch.randn(100, 16)) < 0.5
