"""Is one configuration ahead of another across target languages, not just on one? A random-effects
meta-analysis of the per-target paired differences, with languages as the sampling unit.

Each target i gives a paired difference d_i (petra.metrics.compare: seeds and sentences) with standard
error s_i. Languages differ in how much a PE helps them, so the targets' true differences are taken to
vary around a mean μ with a between-language spread τ (DerSimonian & Laird 1986, τ² by their moment
estimator). The interval for μ is Hartung-Knapp-Sidik-Jonkman's: the weighted spread of the d_i around μ,
Student's t with k − 1 df, never narrower than the weights alone allow (Röver et al. 2015's modification) -
with the 3-25 targets an experiment has, the DerSimonian-Laird normal interval is too narrow (IntHout et al.
2014); this one keeps its coverage (simulated in tests/metrics/test_across.py). I² is
the share of the spread of the d_i that is between languages rather than within them (Higgins & Thompson 2002).

The verdict: "depends on the language" when some targets are reliably ahead and others reliably behind
(their own intervals exclude zero on opposite sides); else "ahead" when μ's interval excludes zero; else "tie".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

AHEAD, TIE, DEPENDS = "ahead", "tie", "depends on the language"


@dataclass(frozen=True)
class TargetDifference:
    target: str
    difference: float
    ci_low: float
    ci_high: float

    @property
    def se(self) -> float:
        """The standard error its 95% interval implies (the interval combines t critical values; taken as normal here)."""
        return max((self.ci_high - self.ci_low) / (2 * 1.959964), 1e-9)

    @property
    def side(self) -> int:
        """+1 reliably ahead, -1 reliably behind, 0 within its interval."""
        return 1 if self.ci_low > 0 else -1 if self.ci_high < 0 else 0


@dataclass(frozen=True)
class AcrossTargets:
    mean: float  # μ: the mean difference over languages (random-effects weights)
    ci_low: float
    ci_high: float
    tau: float  # between-language standard deviation of the true differences
    i2: float  # share of the spread that is between languages (0..1)
    targets: tuple[TargetDifference, ...]

    @property
    def wins(self) -> int:
        return sum(t.side > 0 for t in self.targets)

    @property
    def losses(self) -> int:
        return sum(t.side < 0 for t in self.targets)

    @property
    def ties(self) -> int:
        return sum(t.side == 0 for t in self.targets)

    @property
    def verdict(self) -> str:
        if self.wins and self.losses:
            return DEPENDS
        return TIE if self.ci_low <= 0 <= self.ci_high else AHEAD


def across_targets(targets: Sequence[TargetDifference], level: float = 0.95) -> AcrossTargets:
    """μ, its HKSJ interval, τ and I² from per-target differences (one target: its own interval)."""
    if not targets:
        raise ValueError("across_targets needs at least one target")
    d = np.array([t.difference for t in targets])
    v = np.array([t.se ** 2 for t in targets])
    k = len(d)
    if k == 1:
        return AcrossTargets(float(d[0]), targets[0].ci_low, targets[0].ci_high, 0.0, 0.0, tuple(targets))
    w = 1 / v
    fixed = float((w * d).sum() / w.sum())
    q = float((w * (d - fixed) ** 2).sum())
    # DL's C = Σw - Σw²/Σw, written as Σ_i w_i (Σ_{j≠i} w_j) / Σw: a target whose difference has no width
    # (the same at every seed and sentence) weighs ~1e18, and the subtraction would cancel to 0
    others = np.array([np.delete(w, i).sum() for i in range(k)])
    tau2 = max(0.0, (q - (k - 1)) / float((w * others).sum() / w.sum()))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    w_random = 1 / (v + tau2)
    mean = float((w_random * d).sum() / w_random.sum())
    spread = float((w_random * (d - mean) ** 2).sum() / (k - 1))
    se = np.sqrt(max(spread, 1.0) / w_random.sum())  # never narrower than the weights allow (Röver et al. 2015)
    half = float(stats.t.ppf(0.5 + level / 2, k - 1) * se)
    return AcrossTargets(mean, mean - half, mean + half, float(np.sqrt(tau2)), i2, tuple(targets))


@dataclass(frozen=True)
class Moderation:
    """How the per-target difference moves with a property of the target (e.g. its distance to the source)."""

    slope: float  # change of the difference per unit of the property
    ci_low: float
    ci_high: float
    targets: int

    @property
    def moves(self) -> bool:
        return not self.ci_low <= 0 <= self.ci_high


def moderation(targets: Sequence[TargetDifference], x: Sequence[float], level: float = 0.95) -> Moderation | None:
    """Meta-regression of the per-target differences on ``x`` (a mixed-effects model): the residual
    between-language variance by the method of moments of DerSimonian-Laird generalised to a regression,
    weighted least squares with weights 1 / (s_i² + τ²_residual), and the Knapp-Hartung interval for the
    slope (t, k − 2 df, scale at least 1). None with fewer than three targets or a constant ``x``: a line
    through two points has no interval."""
    d, x = np.array([t.difference for t in targets]), np.asarray(x, dtype=float)
    if len(d) < 3 or np.ptp(x) == 0:
        return None
    v = np.array([t.se ** 2 for t in targets])
    design = np.column_stack([np.ones_like(x), x])

    def fit(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        normal = design.T @ (w[:, None] * design)
        beta = np.linalg.solve(normal, design.T @ (w * d))
        return beta, np.linalg.inv(normal), float((w * (d - design @ beta) ** 2).sum())

    w = 1 / v
    _, inverse, q = fit(w)
    trace = w.sum() - np.trace(inverse @ (design.T @ ((w ** 2)[:, None] * design)))
    tau2 = max(0.0, (q - (len(d) - 2)) / trace)
    beta, inverse, q = fit(1 / (v + tau2))
    scale = max(q / (len(d) - 2), 1.0)
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 2) * np.sqrt(scale * inverse[1, 1]))
    return Moderation(float(beta[1]), float(beta[1]) - half, float(beta[1]) + half, len(d))
