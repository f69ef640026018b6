import numpy as np
import torch
from scipy.stats import special_ortho_group

from petra.align.adversarial import AdversarialConfig, _orthogonalize, adversarial_align
from petra.align.retrieval import normalize_embeddings


def _clusters(seed: int, dim: int = 2, k: int = 6, noise: float = 0.05):
    """Well-separated clusters of unequal size, and the same points rotated and shuffled."""
    rng = np.random.default_rng(seed)
    centers = 3 * rng.standard_normal((k, dim))
    x = np.concatenate([c + noise * rng.standard_normal((n, dim)) for c, n in zip(centers, rng.integers(10, 60, k))])
    rotation = special_ortho_group.rvs(dim, random_state=seed)
    perm = rng.permutation(len(x))
    return normalize_embeddings(x), normalize_embeddings((x @ rotation)[perm]), rotation


def test_adversarial_recovers_a_rotation_of_separated_clusters():
    # No dictionary at all: the games match the two clouds, the unsupervised criterion picks the
    # game whose refined map is best, and Procrustes refinement makes it exact.
    x, y, rotation = _clusters(seed=3)
    cfg = AdversarialConfig(epochs=2, iterations=250, batch_size=64, dis_hidden=64, beta=0.5, restarts=4)
    result = adversarial_align(x, y, cfg, seed=3)
    assert np.abs(result.alignment.w - rotation).max() < 0.01
    assert max(result.alignment.criteria) > 0.999
    # Not every game finds it: the criterion separates the right map from the wrong ones.
    assert min(max(c) for c in result.criteria) < 0.99


def test_orthogonality_update_drives_a_perturbed_map_back_to_orthogonal():
    q = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(0)))[0]
    w = q + 0.05 * torch.randn(6, 6, generator=torch.Generator().manual_seed(1))
    error = lambda m: float((m.T @ m - torch.eye(6)).abs().max())  # noqa: E731
    before = error(w)
    for _ in range(5):
        _orthogonalize(w, 0.5)
    assert error(w) < 1e-6 < before
