"""Unsupervised alignment: adversarial training of a linear map, then Procrustes refinement.

The MUSE recipe (Conneau et al. 2018, "Word Translation Without Parallel Data", sec. 2.1-2.3,
and its ``unsupervised.py`` defaults): a map W (initialised to the identity) and a discriminator
D play a two-player game. D, an MLP with input dropout and LeakyReLU, learns to tell mapped
source vectors W x from target vectors y (labels smoothed by ``smoothing``); W learns to fool it
(the same loss with flipped labels). After every W update, W is pulled back towards the
orthogonal manifold,

    W <- (1 + beta) W - beta (W Wᵀ) W                      (eq. 7, beta = 0.001)

Both players use SGD whose learning rate decays each epoch; MUSE's unsupervised criterion
(mean CSLS cosine of the frequent words) picks the best epoch of a game. Each game's map is then
refined with Procrustes on induced mutual-nearest-neighbour dictionaries, and with
``restarts`` > 1 the same criterion, after refinement, picks one of several independent games,
since a game can settle in a bad local optimum (Søgaard et al. 2018, "On the Limitations of
Unsupervised Bilingual Dictionary Induction", report many such failures).

Both inputs must be normalised the same way (see :func:`petra.align.retrieval.normalize_embeddings`)
and their rows ordered by frequency: the discriminator only sees the ``most_frequent`` rows,
whose vectors are the most reliable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from petra.align.procrustes import Alignment, RefineConfig, refine
from petra.align.retrieval import mean_cosine_criterion


@dataclass(frozen=True)
class AdversarialConfig:
    """MUSE's defaults scaled to small vocabularies (MUSE: 5 epochs of 1,000,000 samples,
    a 2 x 2048 discriminator, 75,000 most frequent words)."""

    epochs: int = 5
    iterations: int = 1000  # map updates per epoch
    batch_size: int = 32
    dis_steps: int = 5  # discriminator updates per map update
    dis_hidden: int = 512
    dis_layers: int = 2
    dis_dropout: float = 0.0
    dis_input_dropout: float = 0.1
    smoothing: float = 0.1
    lr: float = 0.1
    lr_decay: float = 0.98
    # Eq. 7's step. MUSE's 0.001 suits 300-d maps; in a few dimensions one SGD step moves W far
    # off the orthogonal manifold, and beta = 0.5 (one Newton-Schulz step of the polar
    # decomposition, which eq. 7 is for that value) pulls it back at once.
    beta: float = 0.001
    most_frequent: int | None = None  # rows the discriminator samples from (None: all)
    criterion_rank: int = 1000
    restarts: int = 1
    refine: RefineConfig = field(default_factory=RefineConfig)


@dataclass
class AdversarialResult:
    alignment: Alignment  # the chosen game's map after refinement
    adversarial_w: np.ndarray  # the chosen game's map before refinement
    criteria: list[list[float]]  # per game, the unsupervised criterion after each epoch
    chosen_restart: int


def _discriminator(dim: int, cfg: AdversarialConfig) -> nn.Module:
    layers: list[nn.Module] = [nn.Dropout(cfg.dis_input_dropout)]
    width = dim
    for _ in range(cfg.dis_layers):
        layers += [nn.Linear(width, cfg.dis_hidden), nn.LeakyReLU(0.2), nn.Dropout(cfg.dis_dropout)]
        width = cfg.dis_hidden
    return nn.Sequential(*layers, nn.Linear(width, 1))


def _orthogonalize(w: torch.Tensor, beta: float) -> None:
    """Eq. 7: one step of the iteration that converges to the nearest orthogonal matrix."""
    with torch.no_grad():
        w.copy_((1 + beta) * w - beta * (w @ w.T) @ w)


def _initial_map(dim: int, restart: int, generator: torch.Generator) -> torch.Tensor:
    """The identity (MUSE) for the first game; a random orthogonal matrix for later ones, so
    restarts explore other basins instead of replaying the first game with new noise."""
    if restart == 0:
        return torch.eye(dim)
    q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator))
    return q * torch.sign(torch.diagonal(r))  # Haar-distributed (Mezzadri 2007)


def _game(
    src: torch.Tensor, tgt: torch.Tensor, cfg: AdversarialConfig, generator: torch.Generator, restart: int,
) -> tuple[np.ndarray, list[float]]:
    """One adversarial game; returns the map of its best epoch and the criterion per epoch."""
    dim = src.shape[1]
    # W acts on row vectors (x W), matching petra.align.procrustes.
    w = nn.Parameter(_initial_map(dim, restart, generator).to(src.dtype))
    dis = _discriminator(dim, cfg).to(src.dtype)
    map_opt = torch.optim.SGD([w], lr=cfg.lr)
    dis_opt = torch.optim.SGD(dis.parameters(), lr=cfg.lr)
    loss_fn = nn.BCEWithLogitsLoss()
    n_src, n_tgt = (min(len(a), cfg.most_frequent or len(a)) for a in (src, tgt))
    # Mapped source labelled 1 - s, target s (MUSE's smoothed labels).
    labels = torch.cat([torch.full((cfg.batch_size,), 1 - cfg.smoothing), torch.full((cfg.batch_size,), cfg.smoothing)])
    labels = labels.to(src.dtype).unsqueeze(1)

    def sample() -> torch.Tensor:
        i = torch.randint(0, n_src, (cfg.batch_size,), generator=generator)
        j = torch.randint(0, n_tgt, (cfg.batch_size,), generator=generator)
        return torch.cat([src[i] @ w, tgt[j]])

    best_w, best_criterion, criteria = w.detach().clone(), -np.inf, []
    for epoch in range(cfg.epochs):
        for group in (*map_opt.param_groups, *dis_opt.param_groups):
            group["lr"] = cfg.lr * cfg.lr_decay**epoch
        for _ in range(cfg.iterations):
            dis.train()
            for _ in range(cfg.dis_steps):
                loss = loss_fn(dis(sample().detach()), labels)
                dis_opt.zero_grad()
                loss.backward()
                dis_opt.step()
            dis.eval()  # the map is trained against the discriminator's deterministic output
            loss = loss_fn(dis(sample()), 1 - labels)
            map_opt.zero_grad()
            loss.backward()
            map_opt.step()
            _orthogonalize(w, cfg.beta)
        wn = w.detach().cpu().numpy().astype(np.float64)
        criterion = mean_cosine_criterion(src.cpu().numpy() @ wn, tgt.cpu().numpy(), cfg.criterion_rank)
        criteria.append(criterion)
        if criterion > best_criterion:
            best_w, best_criterion = w.detach().clone(), criterion
    return best_w.cpu().numpy().astype(np.float64), criteria


def adversarial_align(
    src: np.ndarray, tgt: np.ndarray, cfg: AdversarialConfig = AdversarialConfig(), seed: int = 0,
) -> AdversarialResult:
    """Align ``src`` to ``tgt`` (both (n, d), frequency-ordered, normalised) with no dictionary.

    Every game is refined, and the refined map with the best unsupervised criterion wins: a game
    that only roughly matched the two clouds is often the one refinement turns into the right map."""
    x, y = np.asarray(src, dtype=np.float64), np.asarray(tgt, dtype=np.float64)
    src_t, tgt_t = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    games, refined = [], []
    with torch.random.fork_rng():  # dropout draws from the global RNG: keep the caller's untouched
        torch.manual_seed(seed)
        for restart in range(cfg.restarts):
            generator = torch.Generator().manual_seed(seed * 1000 + restart)
            games.append(_game(src_t, tgt_t, cfg, generator, restart))
            refined.append(refine(x, y, games[-1][0], cfg.refine))
    chosen = int(np.argmax([max(r.criteria) for r in refined]))
    return AdversarialResult(refined[chosen], games[chosen][0], [c for _, c in games], chosen)
