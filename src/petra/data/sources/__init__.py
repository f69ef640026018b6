"""Where a language's sentences come from: one config entry per language, any of

* a synthetic spec (``{name: sov, word_order: SOV}``, :class:`petra.data.synthetic.LanguageSpec`),
* ``{treebank: Turkish-IMST}`` - a UD treebank found under ``--data-dir`` / ``PETRA_DATA``,
* ``{conllu: FOLDER}`` or ``{conllu: {train: F, dev: F, test: F}}`` - the user's own CoNLL-U files,
* ``{datasets: FOLDER}`` - a folder written by ``datasets`` / ``petra ud-export``.

Every source answers the same questions (its ``name``, ``max_length`` when known, whether its
sentences carry a sentence-level label) and ``read``s into ``{split: [Sentence]}``, so the
experiments never ask which kind a language is.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, Tag

from petra.data.sources.files import ConlluFiles, ConlluSource, DatasetsSource, TreebankSource
from petra.data.synthetic import LanguageSpec

FILE_KINDS = ("treebank", "conllu", "datasets")
KINDS = ("synthetic", *FILE_KINDS)


def language_kind(value: Any) -> str:
    """'synthetic' or the file kind of a language entry (a mapping as written, or a parsed entry)."""
    if isinstance(value, dict):
        return next((k for k in FILE_KINDS if k in value), "synthetic")
    return getattr(value, "kind", "synthetic")


Language = Annotated[
    Union[
        Annotated[LanguageSpec, Tag("synthetic")],
        Annotated[TreebankSource, Tag("treebank")],
        Annotated[ConlluSource, Tag("conllu")],
        Annotated[DatasetsSource, Tag("datasets")],
    ],
    Discriminator(language_kind),
]

__all__ = ["ConlluFiles", "ConlluSource", "DatasetsSource", "Language", "LanguageSpec", "TreebankSource", "language_kind"]


def field_path(loc: tuple) -> list[str]:
    """The config field a pydantic error location names, as the user wrote it: pydantic names the
    union member it tried ('data.targets.0.synthetic.word_order'); users wrote no such key, so the
    tag that follows a language's position is dropped."""
    parts = [str(p) for p in loc if "[" not in str(p)]  # 'tagged-union[...]', 'list[...]': union members, not keys
    return [p for i, p in enumerate(parts)
            if not (p in KINDS and i > 0 and (parts[i - 1].isdigit() or parts[i - 1] == "source"))]
