"""The one sentence type every data source produces (synthetic languages now, UD treebanks later)."""

from __future__ import annotations

from dataclasses import dataclass

NO_FEATURES = "_"  # a word without morphological features (CoNLL-U's empty FEATS)


@dataclass(frozen=True)
class Sentence:
    """A tokenised sentence with a dependency tree and labels.

    ``heads`` are 1-based indices of each word's head (0 = root), as in CoNLL-U.
    ``label`` is the sentence-level class (-1 when the source has none). ``feats``: each word's
    morphological feature bundle as CoNLL-U writes it (``Case=Nom|Number=Sing``, ``_`` for none);
    empty when the source has no FEATS column (synthetic languages, raw text).
    """

    words: tuple[str, ...]
    upos: tuple[str, ...]
    heads: tuple[int, ...]
    deprels: tuple[str, ...]
    lang: str
    label: int = -1
    feats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.words)
        if not (len(self.upos) == len(self.heads) == len(self.deprels) == n) or len(self.feats) not in (0, n):
            raise ValueError(f"sentence fields differ in length: {self.words!r}")

    def __len__(self) -> int:
        return len(self.words)
