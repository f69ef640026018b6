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

def _synthetic_mix(config: Any) -> list[StructureProfile]:
    """A transfer config's training data: ``source_train`` sentences of the source and
    ``target_train`` of each target, generated exactly as the run generates them."""
    from petra.data.synthetic import generate
    from petra.experiments.seeding import stage_seed

    d = config.data
    amounts = [(d.source, d.source_train)] + [(t, d.target_train) for t in d.targets]
    return [profile(generate(spec, n, seed=stage_seed(d.seed, spec.name)), spec.name) for spec, n in amounts]


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


def _seeded_sample(items: list, cap: int | None, seed: int) -> list:
    if cap is None or len(items) <= cap:
        return items
    return [items[i] for i in sorted(np.random.default_rng(seed).choice(len(items), size=cap, replace=False))]


def _udpos_mix(path: Path, data_dir: str | None) -> list[StructureProfile]:
    """A UD-POS config's pretraining mix (``data.mix``: treebank names, 'source', 'targets').

    Mirrors how ``petra udpos`` draws it (petra.experiments.udpos_data): the source's train
    split capped at ``data.source_train``; any other treebank's train split, else its dev split,
    capped at ``data.mix_sentences``; never a test split; the same seeded samples.
    """
    from petra.data.ud import find_treebank, list_treebanks
    from petra.experiments.seeding import stage_seed
    from petra.experiments.udpos import load_udpos_config

    d = load_udpos_config(path).data
    source = find_treebank(d.source, data_dir)
    if d.targets == "all":
        targets = [b.name for b in list_treebanks(data_dir) if b.name.lower() != source.name.lower()]
    else:
        targets = [find_treebank(t, data_dir).name for t in d.targets]
    names: list[str] = []
    for ref in d.mix:
        if ref in ("source", "targets"):
            names += [source.name] if ref == "source" else targets
        else:
            names.append(find_treebank(ref, data_dir).name)
    mix = []
    for name in dict.fromkeys(names):
        bank = find_treebank(name, data_dir)
        if name == source.name:
            text = _seeded_sample(bank.read("train"), d.source_train, stage_seed(d.seed, "source-train"))
        else:
            split = next((s for s in ("train", "dev") if s in bank.splits), None)
            if split is None:
                continue  # test-only treebanks never enter the mix
            text = _seeded_sample(bank.read(split), d.mix_sentences, stage_seed(d.seed, name, "mix"))
        mix.append(profile(text, name.removeprefix("UD_")))
    if not mix:
        raise PetraError(f"{path}: data.mix has no treebank with a train or dev split")
    return mix


def load_mix(path: str | Path, data_dir: str | None = None) -> list[StructureProfile]:
    """The mix a YAML file describes: a transfer config (``petra run``: source + targets), a
    UD-POS config (``petra udpos``: its ``data.mix``), or a list of UD treebanks, either as the
    whole file or under a ``treebanks:`` key; a treebank entry is a name or
    ``{name, splits: [train, ...], max_sentences: N}``."""
    from petra.config import load_config

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
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and isinstance(data["data"].get("source"), str):
        return _udpos_mix(path, data_dir)
    if isinstance(data, dict):
        return _synthetic_mix(load_config(path))
    raise PetraError(f"{path}: expected a transfer config or a list of treebanks, got {type(data).__name__}")
