"""A claim holds only when the paired difference says so: identical predictions are a tie, a
clear lead is a win, and the same model under two recipe names is never tied with itself."""

import numpy as np
import pandas as pd
import pytest

from petra.metrics.compare import SeedScores, paired_difference
from petra.results.claims import break_even, claim_text, claims, marks
from petra.results.summary import summary_frame

SENTENCES = 200


def _cell(correct_by_encoding: dict[str, list[np.ndarray]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and per-sentence scores of one (target, k) cell: one token per sentence."""
    runs, scores = [], []
    for encoding, per_seed in correct_by_encoding.items():
        for seed, correct in enumerate(per_seed):
            base = {"source": "src", "encoding": encoding, "seed": seed, "target": "t", "recipe": "full", "shots": 100}
            runs.append({**base, "accuracy": correct.mean(), "scratch_accuracy": 0.3, "zero_shot_accuracy": 0.2,
                         "source_accuracy": 0.9, "test_sentences": len(correct)})
            scores.append({**base, "sentence": list(range(len(correct))), "correct": correct.tolist(),
                           "total": [1] * len(correct)})
    return pd.DataFrame(runs), pd.DataFrame(scores)


def _claim(correct_by_encoding):
    runs, scores = _cell(correct_by_encoding)
    summary = summary_frame(runs)
    found = claims(summary, runs, scores)
    return summary, found


def test_identical_predictions_are_a_tie():
    rng = np.random.default_rng(0)
    seeds = [(rng.random(SENTENCES) < 0.6).astype(int) for _ in range(3)]
    summary, (claim,) = _claim({"rope": seeds, "alibi": [s.copy() for s in seeds]})
    assert claim.tie and claim.difference.difference == 0.0
    assert (claim.difference.ci_low, claim.difference.ci_high) == (0.0, 0.0)
    assert claim_text(claim).startswith("tie: rope + full ≈ alibi + full (difference +0.000")
    assert marks(summary, [claim]) == ["tie", "tie"]


def test_a_clear_winner_is_reported_as_the_winner():
    rng = np.random.default_rng(1)
    strong = [(rng.random(SENTENCES) < 0.8).astype(int) for _ in range(3)]
    weak = [(rng.random(SENTENCES) < 0.5).astype(int) for _ in range(3)]
    summary, (claim,) = _claim({"sinusoidal": weak, "rope": strong})
    assert not claim.tie and claim.difference.ci_low > 0.15
    assert claim_text(claim).startswith("best is rope + full, ahead of sinusoidal + full (difference +0.")
    assert marks(summary, [claim]) == ["", "best"]


def test_a_small_lead_inside_the_noise_is_a_tie():
    rng = np.random.default_rng(2)
    base = [(rng.random(SENTENCES) < 0.6).astype(int) for _ in range(3)]
    nudged = [b.copy() for b in base]
    for n in nudged:  # per seed 10 sentences turn right and 8 turn wrong: +0.01, as noisy as real models
        wrong, right = np.flatnonzero(n == 0), np.flatnonzero(n == 1)
        n[wrong[:10]], n[right[:8]] = 1, 0
    summary, (claim,) = _claim({"rope": nudged, "learned": base})
    assert claim.difference.difference == pytest.approx(0.01) and claim.tie


def test_the_same_model_under_two_recipe_names_is_not_a_tie_with_itself():
    rng = np.random.default_rng(3)
    strong = [(rng.random(SENTENCES) < 0.8).astype(int) for _ in range(3)]
    weak = [(rng.random(SENTENCES) < 0.5).astype(int) for _ in range(3)]
    runs, scores = _cell({"rope": strong, "sinusoidal": weak})
    frozen = runs[runs["encoding"] == "rope"].assign(recipe="frozen_pe")  # rope has no parameters: same training
    runs = pd.concat([runs, frozen], ignore_index=True)
    scores = pd.concat([scores, scores[scores["encoding"] == "rope"].assign(recipe="frozen_pe")], ignore_index=True)
    summary = summary_frame(runs)
    (claim,) = claims(summary, runs, scores)
    assert claim.best["label"] == "rope + full = frozen_pe" and claim.runner_up["label"] == "sinusoidal + full"
    assert not claim.tie


def test_paired_bootstrap_resamples_seeds_too():
    """Sentences agree within each seed, but the seeds disagree in sign: the CI spans zero."""
    ones, zeros = np.ones(SENTENCES, int), np.zeros(SENTENCES, int)
    seeds = [SeedScores(ones, zeros, np.ones(SENTENCES, int)), SeedScores(zeros, ones, np.ones(SENTENCES, int)),
             SeedScores(ones, zeros, np.ones(SENTENCES, int))]
    d = paired_difference(seeds)
    assert d.difference == pytest.approx(1 / 3) and d.tie and d.seeds == 3


def test_break_even_k_is_where_scratch_catches_up():
    rows = []
    for k, transfer, scratch in ((10, 0.6, 0.2), (100, 0.7, 0.5), (1000, 0.8, 0.8)):
        for seed in range(3):
            rows.append({"source": "s", "encoding": "rope", "seed": seed, "target": "t", "recipe": "full", "shots": k,
                         "accuracy": transfer + 0.01 * seed, "scratch_accuracy": scratch + 0.01 * seed,
                         "zero_shot_accuracy": 0.2, "source_accuracy": 0.9, "test_sentences": 300})
    table = break_even(summary_frame(pd.DataFrame(rows)))
    assert table.iloc[0]["break_even_k"] == 1000
    never = break_even(summary_frame(pd.DataFrame(rows[:6])))
    assert np.isnan(never.iloc[0]["break_even_k"]) and never.iloc[0]["largest_k"] == 100


def test_a_model_trained_once_is_shown_once():
    from petra.results.claims import shown_once

    rng = np.random.default_rng(5)
    runs, scores = _cell({"rope": [(rng.random(SENTENCES) < 0.7).astype(int) for _ in range(3)]})
    twin = runs.assign(recipe="frozen_pe")  # rope has no parameters: frozen_pe trained the same model
    both = pd.concat([runs, twin], ignore_index=True)
    shown = shown_once(summary_frame(both), both)
    assert list(shown["recipe"]) == ["full = frozen_pe"] and len(summary_frame(both)) == 2
