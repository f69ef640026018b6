import numpy as np
import pytest
from scipy.stats import ortho_group

from petra.align.procrustes import RefineConfig, is_orthogonal, procrustes, refine, supervised_align
from petra.align.retrieval import precision_at_k
from petra.errors import PetraError


def _rotated(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    rotation = ortho_group.rvs(dim, random_state=seed)
    return x, x @ rotation, rotation


def test_procrustes_recovers_a_random_rotation_exactly():
    x, y, rotation = _rotated(300, 32, seed=0)
    w = procrustes(x[:50], y[:50])  # 50 pairs determine a 32-d rotation
    assert is_orthogonal(w)
    np.testing.assert_allclose(w, rotation, atol=1e-10)
    pairs = np.stack([np.arange(50, 300)] * 2, axis=1)  # held-out words
    assert precision_at_k(x @ w, y, pairs, "nn", ks=(1,))[1] == 1.0


def test_procrustes_is_the_least_squares_optimum_among_rotations():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((40, 6))
    w = procrustes(x, y)
    best = np.linalg.norm(x @ w - y)
    others = [np.linalg.norm(x @ ortho_group.rvs(6, random_state=s) - y) for s in range(200)]
    assert best <= min(others)


def test_refinement_repairs_a_noisy_seed_dictionary():
    # A small seed dictionary with a quarter of it wrong: Procrustes alone is off, mutual-NN
    # refinement over all words recovers the rotation (Conneau et al. 2018, sec. 2.3).
    x, y, rotation = _rotated(400, 16, seed=2)
    y = y + 0.05 * np.random.default_rng(3).standard_normal(y.shape)
    seed = np.stack([np.arange(20), np.arange(20)], axis=1)
    seed[:5, 1] = np.arange(100, 105)
    gold = np.stack([np.arange(20, 400)] * 2, axis=1)
    before = precision_at_k(x @ procrustes(x[seed[:, 0]], y[seed[:, 1]]), y, gold, "csls", ks=(1,))[1]
    refined = supervised_align(x, y, seed, RefineConfig(iterations=5, keep_seed=False))
    after = precision_at_k(refined.map(x), y, gold, "csls", ks=(1,))[1]
    assert after == 1.0 and before < 0.9
    assert np.abs(refined.w - rotation).max() < 0.02
    assert refined.dictionary_sizes[-1] > 350  # the induced dictionary grew far past the seed


def test_refine_with_no_mutual_neighbours_keeps_the_map():
    x, y, _ = _rotated(5, 4, seed=4)
    start = np.eye(4)
    out = refine(x, y, start, RefineConfig(iterations=0))
    np.testing.assert_array_equal(out.w, start)


def test_procrustes_rejects_mismatched_shapes():
    with pytest.raises(PetraError, match="same shape"):
        procrustes(np.zeros((3, 4)), np.zeros((3, 5)))
