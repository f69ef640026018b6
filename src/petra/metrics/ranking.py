"""Ranking source languages for a target from pair features, and how well a ranking works.

A *table* has one row per (source, target) pair: its features (petra.metrics.advice_features) and
the measured transfer (``outcome``, e.g. the mean k = 10 accuracy over PEs and seeds). Rankers:

* ``lambdarank`` — LightGBM's LambdaRank over every feature, one query per target, each source's
  relevance its rank among the target's sources (LangRank's setting, Lin et al. 2019);
* ``ridge`` — a ridge regression of the outcome on the standardised features (a missing value is
  the training median): it predicts a transfer score, not only an order;
* single features (``feature:<name>``): sources ordered by one distance (nearest first) or one
  overlap (largest first); ``english``: English first, the rest at random; ``random``.

A ranker's scores become a predicted transfer with :func:`calibrate` (the target's level from ridge,
the spread between its sources from the ranker). Evaluation is leave-one-target-out: each target is ranked by a ranker fitted on the other targets,
scored by NDCG@3 (gains 2^rel − 1, rel = sources below it in the measured order; Järvelin &
Kekäläinen 2002) and Spearman's ρ between predicted and measured order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from petra.errors import PetraError
from petra.metrics.advice_features import HIGHER_IS_CLOSER

RANDOM_DRAWS = 200  # permutations averaged for the random baselines
RIDGE_ALPHA = 1.0
LAMBDARANK = {"objective": "lambdarank", "n_estimators": 200, "learning_rate": 0.05, "num_leaves": 7,
              "min_child_samples": 4, "min_data_in_bin": 1, "subsample": 1.0, "colsample_bytree": 1.0,
              "deterministic": True, "force_row_wise": True, "n_jobs": 1, "random_state": 0, "verbose": -1}


def relevance(scores: np.ndarray) -> np.ndarray:
    """Per source: how many sources of the same target scored below it (0 = worst)."""
    order = np.argsort(np.argsort(scores, kind="stable"), kind="stable")
    return order.astype(int)


def ndcg_at(measured: np.ndarray, predicted: np.ndarray, k: int = 3) -> float:
    """NDCG@k of the order ``predicted`` gives, with the measured order's relevance as gain."""
    gains = 2.0 ** relevance(measured) - 1
    discounts = 1 / np.log2(np.arange(2, min(k, len(gains)) + 2))
    ranked = gains[np.argsort(-predicted, kind="stable")][:k]
    ideal = np.sort(gains)[::-1][:k]
    return float((ranked * discounts).sum() / (ideal * discounts).sum()) if ideal.sum() else float("nan")


class Ranker:
    """Fit on a table's rows; ``score`` rows of one target: higher = better source."""

    name: str

    def fit(self, table: pd.DataFrame, outcome: str) -> Ranker:
        return self

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


@dataclass
class SingleFeature(Ranker):
    feature: str

    @property
    def name(self) -> str:
        return f"feature:{self.feature}"

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        values = rows[self.feature].to_numpy(dtype=float)
        values = np.where(np.isnan(values), np.nanmedian(values) if np.isfinite(values).any() else 0.0, values)
        return values if self.feature in HIGHER_IS_CLOSER else -values


class Ridge(Ranker):
    name = "ridge"

    def __init__(self, features: Sequence[str], alpha: float = RIDGE_ALPHA) -> None:
        self.features, self.alpha = list(features), alpha

    def _matrix(self, rows: pd.DataFrame) -> np.ndarray:
        x = rows[self.features].to_numpy(dtype=float)
        x = np.where(np.isnan(x), self.median, x)
        return (x - self.mean) / self.scale

    def fit(self, table: pd.DataFrame, outcome: str) -> Ridge:
        x = table[self.features].to_numpy(dtype=float)
        median = np.nanmedian(x, axis=0)
        self.median = np.where(np.isfinite(median), median, 0.0)
        x = np.where(np.isnan(x), self.median, x)
        self.mean, self.scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        z, y = (x - self.mean) / self.scale, table[outcome].to_numpy(dtype=float)
        self.intercept = y.mean()
        self.weights = np.linalg.solve(z.T @ z + self.alpha * np.eye(z.shape[1]), z.T @ (y - self.intercept))
        return self

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        return self._matrix(rows) @ self.weights + self.intercept

    def coefficients(self) -> pd.Series:
        """Weight per standardised feature: the outcome's change for one standard deviation more."""
        return pd.Series(self.weights, index=self.features)


class LambdaRank(Ranker):
    name = "lambdarank"

    def __init__(self, features: Sequence[str]) -> None:
        self.features = list(features)

    def fit(self, table: pd.DataFrame, outcome: str) -> LambdaRank:
        from lightgbm import LGBMRanker

        table = table.sort_values("target", kind="stable")
        labels = np.concatenate([relevance(g[outcome].to_numpy()) for _, g in table.groupby("target", sort=True)])
        sizes = table.groupby("target", sort=True).size().to_numpy()
        self.model = LGBMRanker(**LAMBDARANK, label_gain=list(2.0 ** np.arange(int(sizes.max())) - 1))
        self.model.fit(table[self.features].astype(float), labels, group=sizes)
        return self

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        return self.model.predict(rows[self.features].astype(float))

    def importance(self) -> pd.Series:
        """Total split gain per feature (what the trees leaned on)."""
        return pd.Series(self.model.booster_.feature_importance("gain"), index=self.features)


class EnglishFirst(Ranker):
    name = "english"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        english = rows["source"].str.startswith("English").to_numpy()
        return english * 10.0 + self.rng.random(len(rows))


class Random(Ranker):
    name = "random"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        return self.rng.random(len(rows))


def _evaluate_once(table: pd.DataFrame, make, outcome: str, k: int) -> pd.DataFrame:
    rows = []
    for target, held_out in table.groupby("target", sort=True):
        ranker = make().fit(table[table["target"] != target], outcome)
        predicted, measured = ranker.score(held_out), held_out[outcome].to_numpy(dtype=float)
        rho = spearmanr(predicted, measured).statistic if len(set(predicted)) > 1 else float("nan")
        rows.append({"target": target, "ndcg": ndcg_at(measured, predicted, k), "spearman": rho})
    return pd.DataFrame(rows)


def leave_one_target_out(table: pd.DataFrame, make, outcome: str, k: int = 3, draws: int = 1) -> pd.DataFrame:
    """Per target: NDCG@k and Spearman of the ranker ``make(seed)`` builds, fitted on every other
    target (averaged over ``draws`` seeds for the randomised baselines)."""
    if table["target"].nunique() < 2:
        raise PetraError("leave-one-target-out needs at least two targets in the matrix")
    runs = [_evaluate_once(table, lambda s=s: make(s), outcome, k) for s in range(draws)]
    return pd.concat(runs).groupby("target", sort=True).mean().reset_index()


@dataclass(frozen=True)
class Calibration:
    """From a ranker's scores to a transfer score: a target's level (the mean ridge prediction over its
    candidate sources) plus ``slope`` × (a source's score − the candidates' mean score), so the predicted
    transfer follows the ranker's order; ``half_width``: the ``level`` quantile of the absolute
    leave-one-target-out errors of exactly that prediction over the table."""

    slope: float
    half_width: float
    level: float

    def predict(self, scores: np.ndarray, levels: np.ndarray) -> np.ndarray:
        return levels.mean() + self.slope * (scores - scores.mean())


def calibrate(table: pd.DataFrame, make, outcome: str, features: Sequence[str], level: float = 0.9) -> Calibration:
    """The :class:`Calibration` of ranker ``make()`` over ``table``, every quantity left-one-target-out."""
    held = []
    for target, rows in table.groupby("target", sort=True):
        rest = table[table["target"] != target]
        scores = make().fit(rest, outcome).score(rows)
        levels = Ridge(features).fit(rest, outcome).score(rows)
        held.append((scores - scores.mean(), rows[outcome].to_numpy(dtype=float), levels))
    spread = np.concatenate([s for s, _, _ in held])
    centred = np.concatenate([y - y.mean() for _, y, _ in held])
    slope = max(0.0, float(spread @ centred / (spread @ spread))) if spread.any() else 0.0
    errors = np.concatenate([y - (levels.mean() + slope * s) for s, y, levels in held])
    return Calibration(slope, float(np.quantile(np.abs(errors), level)), level)
