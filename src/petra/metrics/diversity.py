"""Diversity of a training mix: how many languages it really holds, and how much word-order
variety they bring.

* **Entropy** of the language distribution by tokens, H(L) = −Σ p_l log2 p_l, p_l = tokens of
  language l / all tokens (Shannon 1948), in bits.
* **Effective number of languages** 2^H(L): the Hill number of order 1 (Hill 1973; Jost 2006),
  the number of equally large languages with the same entropy (1 for one language, n for n
  equal shares).
* **Mutual information** between language and word order, in bits, plug-in (maximum-likelihood)
  estimates on pooled counts: I(L; O) over S-V-O clauses (how much knowing the language tells
  about the basic order of a clause), and I(L; D | R) = Σ_r p(r) I(L; D | R = r) over
  dependents of the relations of :data:`petra.metrics.structure.RELATIONS` (how much the
  language tells about head direction once the relation is known). The plug-in estimate is
  biased upwards by about (|L|−1)(|O|−1) / (2 N ln 2) bits (Miller 1955): negligible for
  treebank-sized N, reported alongside.
* **Coverage** of word-order types: the orders that are the dominant order of at least one
  language of the mix, as a share of the six (Dryer 2013, WALS 81A), and the orders attested
  in at least ``ATTESTED_SHARE`` of some language's clauses.

A mix is a list of :class:`~petra.metrics.structure.StructureProfile` (one per language, counts
of the sentences that language contributes); :func:`load_mix` builds it from a config file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from petra.errors import PetraError
from petra.metrics.structure import ORDERS, StructureProfile, profile

ATTESTED_SHARE = 0.10


@dataclass(frozen=True)
class MixDiversity:
    languages: tuple[str, ...]
    tokens: tuple[int, ...]
    entropy_bits: float
    max_entropy_bits: float  # log2(number of languages)
    effective_languages: float
    word_order_mi_bits: float
    word_order_mi_bias_bits: float  # Miller's first-order bias of the plug-in estimate
    head_direction_mi_bits: float
    dominant_orders: tuple[str | None, ...]
    covered_orders: tuple[str, ...]  # dominant in some language
    attested_orders: tuple[str, ...]  # >= ATTESTED_SHARE of some language's clauses

    @property
    def coverage(self) -> float:
        return len(self.covered_orders) / len(ORDERS)

    @property
    def attested_coverage(self) -> float:
        return len(self.attested_orders) / len(ORDERS)


def entropy_bits(counts: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy in bits of the distribution proportional to ``counts``."""
    p = np.asarray(counts, dtype=float).ravel()
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum())


def mutual_information(joint: np.ndarray) -> float:
    """I(X; Y) in bits from a table of joint counts (rows X, columns Y): H(X) + H(Y) − H(X, Y)."""
    joint = np.asarray(joint, dtype=float)
    if joint.sum() == 0:
        return 0.0
    return max(0.0, entropy_bits(joint.sum(axis=1)) + entropy_bits(joint.sum(axis=0)) - entropy_bits(joint))


def conditional_mutual_information(joint: np.ndarray) -> float:
    """I(X; Y | Z) in bits from counts indexed [x, z, y]: Σ_z p(z) I(X; Y | Z = z)."""
    joint = np.asarray(joint, dtype=float)
    total = joint.sum()
    if total == 0:
        return 0.0
    return float(sum(joint[:, z, :].sum() / total * mutual_information(joint[:, z, :]) for z in range(joint.shape[1])))


def diversity(mix: Sequence[StructureProfile]) -> MixDiversity:
    """Every diversity statistic of a mix of per-language profiles."""
    if not mix:
        raise PetraError("a mix needs at least one language")
    tokens = [p.tokens for p in mix]
    h = entropy_bits(tokens)
    orders = np.stack([p.word_order for p in mix])  # languages x orders
    directions = np.stack([p.head_direction for p in mix])  # languages x relations x 2
    dominant = tuple(p.dominant_order() for p in mix)
    attested = {
        order for p in mix for order, share in p.order_shares().items() if share >= ATTESTED_SHARE
    }
    n_clauses = orders.sum()
    bias = (len(mix) - 1) * (len(ORDERS) - 1) / (2 * n_clauses * np.log(2)) if n_clauses else 0.0
    return MixDiversity(
        languages=tuple(p.name for p in mix),
        tokens=tuple(tokens),
        entropy_bits=h,
        max_entropy_bits=float(np.log2(len(mix))),
        effective_languages=float(2.0**h),
        word_order_mi_bits=mutual_information(orders),
        word_order_mi_bias_bits=float(bias),
        head_direction_mi_bits=conditional_mutual_information(directions),
        dominant_orders=dominant,
        covered_orders=tuple(o for o in ORDERS if o in dominant),
        attested_orders=tuple(o for o in ORDERS if o in attested),
    )


# --- building a mix from a config file ----------------------------------------------------------

def _config_mix(path: Path, data_dir: str | None) -> list[StructureProfile]:
    """A transfer config's pretraining text, read exactly as the run reads it: each source's
    training sentences, the extra pretraining languages, and each target's pool text (a `text:` file has no
    trees to profile)."""
    from petra.config import load_config
    from petra.data.languages import read_languages

    config = load_config(path)  # a transfer config (the schema its `experiment` names; transfer by default)
    if config.experiment != "transfer":
        raise PetraError(f"{path} is a {config.experiment} config: a mix is read from a transfer config")
    read = read_languages(config, data_dir)
    parts = {**read.source_train, **read.extra, **{name: text for name, text in read.pool_text.items() if text}}
    return [profile(v, name) for name, v in parts.items()]


def _treebank_entry(entry: Any, where: str) -> tuple[str, list[str] | None, int | None]:
    if isinstance(entry, str):
        return entry, None, None
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        unknown = set(entry) - {"name", "splits", "max_sentences"}
        if unknown:
            raise PetraError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: name, splits, max_sentences")
        return entry["name"], entry.get("splits"), entry.get("max_sentences")
    raise PetraError(f"{where}: a treebank entry is a name or {{name, splits, max_sentences}}, got {entry!r}")


def _treebank_mix(entries: list[Any], path: Path, data_dir: str | None) -> list[StructureProfile]:
    from petra.metrics.structure import treebank_profile

    mix = []
    for i, entry in enumerate(entries):
        name, splits, cap = _treebank_entry(entry, f"{path}: treebanks[{i}]")
        mix.append(treebank_profile(name, data_dir, splits, cap))
    return mix


def load_mix(path: str | Path, data_dir: str | None = None) -> list[StructureProfile]:
    """The mix a YAML file describes: a transfer config (``petra run``: its pretraining text, any
    language sources), or a list of UD treebanks, either as the whole file or under a
    ``treebanks:`` key; a treebank entry is a name or ``{name, splits: [train, ...], max_sentences: N}``."""

    path = Path(path)
    if not path.is_file():
        raise PetraError(f"mix file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PetraError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if isinstance(data, dict) and "treebanks" in data:
        data = data["treebanks"]
    if isinstance(data, list):
        if not data:
            raise PetraError(f"{path}: the treebank list is empty")
        return _treebank_mix(data, path, data_dir)
    if isinstance(data, dict):
        return _config_mix(path, data_dir)
    raise PetraError(f"{path}: expected a transfer config or a list of treebanks, got {type(data).__name__}")
