"""The claims' interval keeps its coverage with few seeds: scores simulated with a known seed variance
and sentence variance and no true difference name a false 'best' at most 5% of the time (A/A), and a
real difference is found."""

import numpy as np
import pandas as pd
import pytest

from petra.metrics.compare import SeedScores, paired_difference, seed_paired_difference
from petra.results.claims import claim_text, claims, marks
from petra.results.summary import summary_frame


def simulate(seeds: int, sentences: int, sd_seed: float, sd_sentence: float, true: float,
             rng: np.random.Generator) -> list[SeedScores]:
    """Two configurations scored on the same sentences at every seed: a sentence-level difference
    (mean 0 over the language, so a test set's own mean is off by chance), a seed-level difference
    (training randomness) and binomial noise per sentence."""
    total = rng.integers(5, 25, sentences)
    base = rng.beta(6, 3, sentences)
    by_sentence = rng.normal(0, sd_sentence, sentences)
    out = []
    for _ in range(seeds):
        d = rng.normal(true, sd_seed) + by_sentence
        a = rng.binomial(total, np.clip(base + d / 2, 0, 1))
        b = rng.binomial(total, np.clip(base - d / 2, 0, 1))
        out.append(SeedScores(a, b, total))
    return out


# seed-dominated, mixed and sentence-dominated variances of the difference
REGIMES = [(0.03, 0.0), (0.02, 0.05), (0.005, 0.1)]


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_no_true_difference_names_a_false_best_at_most_5_percent(seeds):
    rng = np.random.default_rng(seeds)
    draws = 400
    for sd_seed, sd_sentence in REGIMES:
        false = sum(not paired_difference(simulate(seeds, 200, sd_seed, sd_sentence, 0.0, rng)).tie for _ in range(draws))
        # 5% plus two Monte Carlo standard errors (1.1% at 400 draws); the percentile bootstrap this
        # replaced named a false best in 17-22% of seed-dominated draws with 2 or 3 seeds
        assert false / draws <= 0.072, (seeds, sd_seed, sd_sentence, false / draws)


def test_a_real_difference_is_found():
    rng = np.random.default_rng(7)
    found = {s: np.mean([paired_difference(simulate(s, 300, 0.01, 0.05, 0.04, rng)).ci_low > 0 for _ in range(200)])
             for s in (2, 3, 5)}
    assert found[5] > 0.9 and found[3] > 0.6 and found[2] < found[3] < found[5]  # more seeds, more power


def test_one_seed_has_no_seed_level_evidence():
    rng = np.random.default_rng(3)
    d = paired_difference(simulate(1, 300, 0.0, 0.05, 0.2, rng))
    assert d.seeds == 1 and not d.seed_evidence and d.ci_low > 0.1  # the sentences alone are clear ...
    scored = simulate(1, 300, 0.0, 0.0, 0.0, rng)[0]
    rows = {"rope": np.minimum(scored.total, scored.correct_a + 3), "sinusoidal": scored.correct_a}
    runs, scores = [], []
    for encoding, right in rows.items():
        row = {"source": "s", "encoding": encoding, "seed": 0, "target": "t", "recipe": "full", "shots": 10}
        runs.append({**row, "accuracy": right.sum() / scored.total.sum(), "scratch_accuracy": 0.3,
                     "zero_shot_accuracy": 0.2, "source_accuracy": 0.9, "test_sentences": 300})
        scores.append({**row, "sentence": list(range(300)), "correct": right.tolist(), "total": scored.total.tolist()})
    runs, scores = pd.DataFrame(runs), pd.DataFrame(scores)
    summary = summary_frame(runs)
    (claim,) = claims(summary, runs, scores)
    assert not claim.tie  # ... and so is this cell over its test sentences, yet it is never called 'best'
    assert claim_text(claim).startswith("1 seed: no seed-level evidence; highest is rope + full")
    assert marks(summary, [claim]) == ["1 seed", ""]


def test_seed_level_only_uses_student_t():
    d = seed_paired_difference([0.60, 0.62, 0.61], [0.58, 0.59, 0.60])
    # mean 0.02, sd 0.01, t(0.975, 2) = 4.303: half-width 4.303 * 0.01 / sqrt(3)
    assert d.difference == pytest.approx(0.02) and d.ci_low == pytest.approx(0.02 - 4.303 * 0.01 / 3 ** 0.5, abs=1e-4)
