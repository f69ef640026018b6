"""The one sentence type every data source produces (synthetic languages now, UD treebanks later)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sentence:
    """A tokenised sentence with a dependency tree and labels.

    ``heads`` are 1-based indices of each word's head (0 = root), as in CoNLL-U.
    ``label`` is the sentence-level class (-1 when the source has none).
    """

    words: tuple[str, ...]
    upos: tuple[str, ...]
    heads: tuple[int, ...]
    deprels: tuple[str, ...]
    lang: str
    label: int = -1

    def __post_init__(self) -> None:
        n = len(self.words)
        if not (len(self.upos) == len(self.heads) == len(self.deprels) == n):
            raise ValueError(f"sentence fields differ in length: {self.words!r}")

    def token_labels(self, kind: str) -> tuple[str, ...]:
        """The word labels a task predicts: ``"upos"``, ``"deprel"`` or ``"udeprel"`` (the universal
        relation without its subtype, ``nmod:poss`` -> ``nmod``: what CoNLL 2018's LAS compares)."""
        if kind == "upos":
            return self.upos
        if kind == "deprel":
            return self.deprels
        if kind == "udeprel":
            return tuple(d.split(":", 1)[0] for d in self.deprels)
        raise ValueError(f"unknown token label kind {kind!r}; expected 'upos', 'deprel' or 'udeprel'")

    def __len__(self) -> int:
        return len(self.words)
