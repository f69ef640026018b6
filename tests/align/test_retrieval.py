import numpy as np

from petra.align.retrieval import (
    mean_cosine_criterion,
    mutual_nearest_pairs,
    normalize_embeddings,
    precision_at_k,
    scores,
    translate,
)


def _hubby(n: int = 200, dim: int = 20, hubs: int = 10, seed: int = 0):
    """Queries share a common direction; each true target is its query plus noise, and a few
    extra targets (hubs) sit on the common direction, closer to many queries than their own
    translations are: plain NN retrieves a hub for them, CSLS discounts the hubs."""
    rng = np.random.default_rng(seed)
    common = np.zeros(dim)
    common[0] = 5.0
    x = common + rng.standard_normal((n, dim))
    y = x + 1.2 * rng.standard_normal((n, dim))
    targets = np.concatenate([y, common + 0.3 * rng.standard_normal((hubs, dim))])
    return x, targets, np.stack([np.arange(n), np.arange(n)], axis=1)


def test_csls_beats_nearest_neighbour_on_hubs():
    x, y, gold = _hubby()
    n = len(x)
    assert np.mean(translate(x, y, range(n), "nn", top=1)[:, 0] >= n) > 0.25  # hub-heavy indeed
    assert np.mean(translate(x, y, range(n), "csls", top=1)[:, 0] >= n) < 0.15
    p_nn, p_csls = precision_at_k(x, y, gold, "nn"), precision_at_k(x, y, gold, "csls")
    assert p_csls[1] > p_nn[1] + 0.15
    assert p_csls[5] > p_nn[5]


def test_csls_formula_matches_its_definition():
    rng = np.random.default_rng(1)
    s, t = normalize_embeddings(rng.standard_normal((30, 5))), normalize_embeddings(rng.standard_normal((25, 5)))
    cos = s @ t.T
    r_t = np.sort(cos, axis=1)[:, -10:].mean(axis=1)
    r_s = np.sort(cos, axis=0)[-10:, :].mean(axis=0)
    np.testing.assert_allclose(scores(s, t, "csls"), 2 * cos - r_t[:, None] - r_s[None, :], atol=1e-12)


def test_precision_counts_any_gold_translation_within_k():
    x = np.eye(4)
    y = np.eye(4)[[1, 0, 2, 3]]  # source 0 is closest to target 1
    assert precision_at_k(x, y, np.array([[0, 0]]), "nn", ks=(1, 4)) == {1: 0.0, 4: 1.0}
    assert precision_at_k(x, y, np.array([[0, 0], [0, 1]]), "nn", ks=(1,)) == {1: 1.0}


def test_mutual_pairs_and_criterion_on_identical_spaces():
    x = normalize_embeddings(np.random.default_rng(2).standard_normal((50, 8)))
    pairs = mutual_nearest_pairs(x, x, "csls")
    np.testing.assert_array_equal(pairs, np.stack([np.arange(50)] * 2, axis=1))
    assert abs(mean_cosine_criterion(x, x) - 1.0) < 1e-9


def test_normalized_rows_are_unit_and_centred_before_the_last_scaling():
    x = normalize_embeddings(np.random.default_rng(3).standard_normal((40, 6)) + 5.0)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)
    # The shared offset (+5) is gone: the mean vector is small next to unit rows.
    assert np.linalg.norm(x.mean(axis=0)) < 0.3
