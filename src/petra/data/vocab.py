"""Word-level vocabularies for synthetic languages (words are already the units there).

Real-language sub-word tokenizers (Hugging Face ``tokenizers``) arrive with the UD work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"
SPECIALS = (PAD, UNK, MASK)


@dataclass(frozen=True)
class Vocab:
    """Symbol <-> id; ids 0, 1, 2 are [PAD], [UNK], [MASK]."""

    symbols: tuple[str, ...]

    @classmethod
    def build(cls, words: Iterable[str], min_count: int = 1) -> Vocab:
        counts = Counter(words)
        # Sorted by (-count, word) so the same corpus always gives the same ids.
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(SPECIALS + tuple(kept))

    @property
    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return 1

    @property
    def mask_id(self) -> int:
        return 2


@dataclass(frozen=True)
class LabelSet:
    """Tag <-> id for token classification (no specials; padding uses the ignore index)."""

    tags: tuple[str, ...]

    @classmethod
    def build(cls, tags: Iterable[str]) -> LabelSet:
        return cls(tuple(sorted(set(tags))))

    @property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tags)}

    def __len__(self) -> int:
        return len(self.tags)
