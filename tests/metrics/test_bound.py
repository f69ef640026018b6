"""The bound checker: it must accept bounds that hold and catch the ways the seed's bound fails."""

import numpy as np
import pytest
from scipy import stats

from petra.metrics.bound import (
    bounded_difference_sigma2,
    check_bounds,
    clopper_pearson,
    empirical_tail,
    subgaussian_bound,
    variance_estimate,
)


def test_subgaussian_bound_formula_and_degenerate_variance():
    eps = np.array([-1.0, 0.0, 0.5, 2.0])
    assert subgaussian_bound(eps, 0.25).tolist() == pytest.approx([1.0, 1.0, np.exp(-0.5), np.exp(-8.0)])
    # σ² = 0 (a deterministic gap) claims P(Δ ≥ ε) = 0 for every ε > 0.
    assert subgaussian_bound(eps, 0.0).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_variance_estimate_is_unbiased_sample_variance():
    assert variance_estimate([1.0, 2.0, 3.0, 4.0]) == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
    assert variance_estimate([5.0]) == 0.0


def test_clopper_pearson_matches_scipy_exact_interval():
    for k, n in [(0, 20), (3, 20), (20, 20), (57, 200)]:
        low, high = clopper_pearson(np.array([k]), n)
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert low[0] == pytest.approx(ref.low, abs=1e-9) and high[0] == pytest.approx(ref.high, abs=1e-9)


def test_clopper_pearson_covers_the_true_probability_at_least_95_percent():
    rng = np.random.default_rng(0)
    p, n = 0.3, 40
    k = rng.binomial(n, p, size=2000)
    low, high = clopper_pearson(k, n)
    assert ((low <= p) & (p <= high)).mean() >= 0.95  # exact intervals are conservative


def test_empirical_tail_counts_ties_as_reaching_epsilon():
    tail = empirical_tail([0.1, 0.2, 0.2, 0.5], np.array([0.0, 0.2, 0.3, 0.6]))
    assert tail.p_hat.tolist() == [1.0, 0.75, 0.25, 0.0]
    assert (tail.low <= tail.p_hat).all() and (tail.p_hat <= tail.high).all()


def test_gaussian_gap_satisfies_the_centred_bound_but_not_the_stated_one():
    """A gap with positive mean: exp(−ε²/2σ²) holds for Δ − mean but is violated for Δ itself."""
    rng = np.random.default_rng(1)
    sigma = 0.01
    check = check_bounds(rng.normal(5 * sigma, sigma, 4000), textbook_sigma2=1.0)
    assert check.sigma2 == pytest.approx(sigma**2, rel=0.1)
    assert check.seed_centred_verdict.holds
    assert not check.seed_raw_verdict.holds
    # Violated from tiny ε on, and still past the mean gap (5σ): the bound decays far faster than Δ's tail.
    assert check.seed_raw_verdict.first_violation < sigma
    assert check.seed_raw_verdict.last_violation > 5 * sigma
    assert check.textbook_verdict.holds and check.textbook_verdict.text == "holds (vacuous)"


def test_variance_is_not_a_subgaussian_proxy_for_a_heavy_tail():
    """Exponential deviations have variance 1, yet P(X − 1 ≥ ε) = e^{−1−ε} ≫ e^{−ε²/2} for large ε."""
    rng = np.random.default_rng(2)
    check = check_bounds(rng.exponential(1.0, 20000), textbook_sigma2=1.0)
    verdict = check.seed_centred_verdict
    assert not verdict.holds
    assert verdict.first_violation > 2.0  # fine near the mean, broken in the tail


def test_mcdiarmid_bound_holds_for_independent_bounded_losses():
    """Δ = mean of n_test minus mean of n_train independent [0, 1] losses: the textbook bound
    with c_i = 1/n must hold (it is a theorem), and it is far from vacuous."""
    rng = np.random.default_rng(3)
    n_train, n_test = 200, 100
    gaps = rng.random((3000, n_test)).mean(1) - rng.random((3000, n_train)).mean(1)
    sigma2 = bounded_difference_sigma2(1.0, np.full(n_train, 1 / n_train), np.full(n_test, 1 / n_test))
    assert sigma2 == pytest.approx((1 / n_train + 1 / n_test) / 4)
    check = check_bounds(gaps, sigma2)
    assert check.textbook_verdict.holds
    assert check.textbook_verdict.bound_at_max < 0.5  # informative, not vacuous
    assert bounded_difference_sigma2(2.0) == 4.0  # one bounded variable in [−B, B]: Hoeffding's lemma


def test_bound_is_caught_when_the_textbook_assumption_fails():
    """The per-example McDiarmid σ² applied to draws that are shared (one common shock moves every
    example's loss): the data must reject it."""
    rng = np.random.default_rng(4)
    n = 100
    shock = rng.normal(0, 0.1, 3000)[:, None]  # common to all examples of a draw
    gaps = np.clip(0.5 + shock + rng.normal(0, 0.05, (3000, n)), 0, 1).mean(1) - 0.5
    check = check_bounds(gaps, bounded_difference_sigma2(1.0, np.full(n, 1 / n), np.full(n, 1 / n)))
    assert not check.textbook_verdict.holds
