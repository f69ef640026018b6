"""The generalization-gap bound for randomized positional encodings, checked against samples.

The claim under test (the seed analysis, informal): with a randomized PE, the gap
``Δ = L_test − L_train`` satisfies ``P(Δ ≥ ε) ≤ exp(−ε² / 2σ²)`` for a variance term σ².

What this module computes, for a 1-D array of gap samples (one per PE draw and/or seed):

* ``σ̂²`` — the unbiased sample variance of the samples (ddof = 1). This is our reading of the
  seed's "variance term"; the derivation does not pin σ² down, so the estimator is a choice.
* The seed's bound ``exp(−ε²/2σ̂²)``, checked two ways: on Δ itself, as stated, and on the centred
  gap ``Δ − mean(Δ)`` (the charitable reading: a sub-Gaussian tail bound is a statement about
  deviations from the mean, so a positive mean gap alone breaks the stated form at small ε).
* A textbook bound with stated assumptions, on the centred gap (Hoeffding 1963; McDiarmid 1989,
  "On the method of bounded differences", Thm. 3.1): if the loss lies in ``[0, B]`` and Δ is a
  function of independent variables ``X_i`` such that changing ``X_i`` alone moves Δ by at most
  ``c_i``, then ``P(Δ − EΔ ≥ ε) ≤ exp(−2ε² / Σ c_i²)``, i.e. the same form with
  ``σ² = Σ c_i² / 4``. Two cases are provided by :func:`bounded_difference_sigma2`:

  - one variable (a single PE draw shared by every example, or a seed): Δ ∈ [−B, B], c = 2B,
    so σ² = B² (Hoeffding's lemma) — valid under boundedness alone, and nearly vacuous;
  - independent draws per example: example ``i`` carries weight ``w_i`` in its split's mean loss,
    so ``c_i = B·w_i`` and ``σ² = (B²/4)(Σ_train w_i² + Σ_test w_i²)`` — tight, but only valid when
    the per-example draws really are independent (and the model is fixed, i.e. conditioned on
    training).

  The mean EΔ is unknown; like the centred seed check we plug in the sample mean, so the textbook
  check is approximate in the same way.
* The empirical tail ``P̂(Δ ≥ ε)`` with a pointwise Clopper–Pearson band (exact binomial
  interval; Clopper & Pearson 1934), via ``scipy.stats.beta``.
* A verdict: the bound is *violated at ε* when the band's lower end exceeds the bound there, i.e.
  the data exclude the bound at that ε at the stated confidence (pointwise, not simultaneous
  over the grid — a violation over a wide range of ε is not a multiple-testing accident).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def variance_estimate(samples: Sequence[float]) -> float:
    """Unbiased sample variance (ddof = 1); 0 for fewer than two samples."""
    x = np.asarray(samples, dtype=float)
    return float(x.var(ddof=1)) if len(x) > 1 else 0.0


def subgaussian_bound(eps: np.ndarray, sigma2: float) -> np.ndarray:
    """``exp(−ε² / 2σ²)`` for ε > 0 and 1 for ε ≤ 0; with σ² = 0 the bound is 0 for every ε > 0."""
    eps = np.asarray(eps, dtype=float)
    if sigma2 <= 0:
        return np.where(eps > 0, 0.0, 1.0)
    return np.where(eps > 0, np.exp(-(eps**2) / (2.0 * sigma2)), 1.0)


def bounded_difference_sigma2(
    loss_bound: float, train_weights: Sequence[float] | None = None, test_weights: Sequence[float] | None = None
) -> float:
    """McDiarmid's variance proxy ``Σ c_i² / 4`` for a loss in ``[0, loss_bound]``.

    Without weights: Δ is one bounded variable (range 2B), σ² = B². With the per-example weights of
    each split's mean loss (summing to 1 per split): independent per-example draws, σ² = B²Σw²/4.
    """
    b2 = float(loss_bound) ** 2
    if train_weights is None or test_weights is None:
        return b2
    w = np.concatenate([np.asarray(train_weights, float), np.asarray(test_weights, float)])
    return b2 * float((w**2).sum()) / 4.0


@dataclass(frozen=True)
class Tail:
    """Empirical tail ``P̂(X ≥ ε)`` on a grid with a pointwise Clopper–Pearson band."""

    eps: np.ndarray
    p_hat: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: int


def clopper_pearson(k: np.ndarray, n: int, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided binomial interval for ``k`` successes out of ``n``."""
    k = np.asarray(k, dtype=float)
    alpha = 1.0 - confidence
    low = np.where(k > 0, stats.beta.ppf(alpha / 2, np.maximum(k, 1e-12), n - k + 1), 0.0)
    high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1e-12)), 1.0)
    return low, high


def empirical_tail(samples: Sequence[float], eps: np.ndarray, confidence: float = 0.95) -> Tail:
    x = np.sort(np.asarray(samples, dtype=float))
    eps = np.asarray(eps, dtype=float)
    counts = len(x) - np.searchsorted(x, eps, side="left")  # #{x ≥ ε}
    low, high = clopper_pearson(counts, len(x), confidence)
    return Tail(eps, counts / len(x), low, high, len(x))


@dataclass(frozen=True)
class Verdict:
    holds: bool
    first_violation: float | None  # smallest ε on the grid where the band lies above the bound
    last_violation: float | None
    max_excess: float  # max over ε of (band lower end − bound); > 0 means violated
    bound_at_max: float  # the bound at the largest sample: near 1 means the bound says nothing

    @property
    def text(self) -> str:
        if self.holds:
            return "holds (vacuous)" if self.bound_at_max > 0.5 else "holds"
        return f"violated at ε ∈ [{self.first_violation:.3g}, {self.last_violation:.3g}]"


def judge(tail: Tail, bound: np.ndarray, max_sample: float) -> Verdict:
    """Compare a bound curve with the tail's band on the same grid (ε ≤ 0 is never judged)."""
    judged = tail.eps > 0
    excess = np.where(judged, tail.low - bound, -np.inf)
    bad = np.flatnonzero(excess > 0)
    bound_at_max = float(np.interp(max_sample, tail.eps, bound)) if max_sample > 0 else 1.0
    return Verdict(
        holds=not len(bad),
        first_violation=float(tail.eps[bad[0]]) if len(bad) else None,
        last_violation=float(tail.eps[bad[-1]]) if len(bad) else None,
        max_excess=float(excess.max()) if judged.any() else 0.0,
        bound_at_max=bound_at_max,
    )


def epsilon_grid(samples: Sequence[float], points: int = 200) -> np.ndarray:
    """``points`` values from 0 to a little beyond the largest |sample| (where the tail reaches 0)."""
    x = np.abs(np.asarray(samples, dtype=float))
    top = float(x.max()) * 1.25 if len(x) and x.max() > 0 else 1e-3
    return np.linspace(0.0, top, points)


@dataclass(frozen=True)
class BoundCheck:
    """One setting's gap samples judged against the seed's bound (raw and centred) and the textbook bound."""

    n: int
    mean_gap: float
    sigma2: float  # σ̂², the seed's variance term as estimated here
    textbook_sigma2: float
    raw: Tail  # tail of Δ
    centred: Tail  # tail of Δ − mean(Δ)
    seed_raw: np.ndarray  # exp(−ε²/2σ̂²) on raw.eps
    seed_centred: np.ndarray  # the same on centred.eps
    textbook: np.ndarray  # exp(−ε²/2σ²_textbook) on centred.eps
    seed_raw_verdict: Verdict
    seed_centred_verdict: Verdict
    textbook_verdict: Verdict


def check_bounds(
    samples: Sequence[float], textbook_sigma2: float, confidence: float = 0.95, points: int = 200
) -> BoundCheck:
    x = np.asarray(samples, dtype=float)
    mean, sigma2 = float(x.mean()), variance_estimate(x)
    centred = x - mean
    raw_tail = empirical_tail(x, epsilon_grid(x, points), confidence)
    centred_tail = empirical_tail(centred, epsilon_grid(centred, points), confidence)
    seed_raw = subgaussian_bound(raw_tail.eps, sigma2)
    seed_centred = subgaussian_bound(centred_tail.eps, sigma2)
    textbook = subgaussian_bound(centred_tail.eps, textbook_sigma2)
    return BoundCheck(
        len(x), mean, sigma2, textbook_sigma2, raw_tail, centred_tail, seed_raw, seed_centred, textbook,
        judge(raw_tail, seed_raw, float(x.max())),
        judge(centred_tail, seed_centred, float(centred.max())),
        judge(centred_tail, textbook, float(centred.max())),
    )
