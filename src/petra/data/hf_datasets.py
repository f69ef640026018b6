"""Prepared splits <-> Hugging Face ``datasets`` (``DatasetDict`` saved with ``save_to_disk``).

Export writes one row per sentence with columns ``words``, ``upos``, ``heads``, ``deprels``,
``lang``; import accepts that layout and also the one of the ``universal_dependencies`` dataset
(``tokens``, ``upos`` as class ids or strings, ``head`` as strings, ``deprel``), so users can bring
their own treebanks. Splits are ``train``/``dev``/``test`` (``validation`` is read as ``dev``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
from datasets import Dataset, DatasetDict, Features, Value, load_from_disk

try:
    from datasets import List as HFSequence  # datasets >= 4
except ImportError:  # pragma: no cover - older datasets
    from datasets import Sequence as HFSequence

from petra.data.sentence import Sentence
from petra.errors import PetraError

FEATURES = Features(
    {
        "words": HFSequence(Value("string")),
        "upos": HFSequence(Value("string")),
        "heads": HFSequence(Value("int32")),
        "deprels": HFSequence(Value("string")),
        "feats": HFSequence(Value("string")),  # empty where the source has no FEATS
        "lang": Value("string"),
    }
)
SPLIT_ALIASES = {"validation": "dev"}


def to_dataset(sentences: Sequence[Sentence]) -> Dataset:
    columns = {
        "words": [list(s.words) for s in sentences],
        "upos": [list(s.upos) for s in sentences],
        "heads": [list(s.heads) for s in sentences],
        "deprels": [list(s.deprels) for s in sentences],
        "feats": [list(s.feats) for s in sentences],
        "lang": [s.lang for s in sentences],
    }
    return Dataset.from_dict(columns, features=FEATURES)


def export_splits(splits: Mapping[str, Sequence[Sentence]], directory: str | Path) -> Path:
    """Save ``{split: sentences}`` as a ``DatasetDict`` folder (``datasets.load_from_disk`` reads it)."""
    directory = Path(directory)
    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # one bar per split would flood CLI and test output
    try:
        DatasetDict({name: to_dataset(sents) for name, sents in splits.items()}).save_to_disk(str(directory))
    finally:
        if not quiet:
            datasets.enable_progress_bars()
    return directory


def is_dataset_dir(path: str | Path) -> bool:
    path = Path(path)
    return (path / "dataset_dict.json").is_file() or (path / "dataset_info.json").is_file()


def import_splits(directory: str | Path, lang: str | None = None,
                  splits: Sequence[str] = ("train", "dev", "test")) -> dict[str, list[Sentence]]:
    """``{split: sentences}`` of the ``splits`` a folder written by ``save_to_disk`` holds (a
    DatasetDict, or one Dataset read as ``test``). Missing columns or inconsistent rows are errors
    naming the row."""
    directory = Path(directory)
    if not is_dataset_dir(directory):
        raise PetraError(f"{directory}: not a Hugging Face dataset folder (no dataset_dict.json or dataset_info.json)")
    loaded = load_from_disk(str(directory))
    parts = dict(loaded) if isinstance(loaded, DatasetDict) else {"test": loaded}
    lang = lang or directory.name
    return {SPLIT_ALIASES.get(name, name): from_dataset(data, lang, f"{directory}[{name}]")
            for name, data in parts.items() if SPLIT_ALIASES.get(name, name) in splits}


def from_dataset(data: Dataset, lang: str, where: str = "dataset") -> list[Sentence]:
    columns = set(data.column_names)
    words_col = _pick(columns, ("words", "tokens"), where)
    heads_col = _pick(columns, ("heads", "head"), where)
    rels_col = _pick(columns, ("deprels", "deprel"), where)
    _pick(columns, ("upos",), where)
    upos_names = _class_names(data.features["upos"])
    sentences = []
    for row_number, row in enumerate(data):
        upos = [upos_names[t] if upos_names and isinstance(t, int) else t for t in row["upos"]]
        try:
            heads = tuple(int(h) for h in row[heads_col])
            sentence = Sentence(
                words=tuple(row[words_col]), upos=tuple(upos), heads=heads, deprels=tuple(row[rels_col]),
                lang=row.get("lang") or lang, feats=tuple(f or "_" for f in row.get("feats") or ()),
            )
        except (ValueError, TypeError) as exc:
            raise PetraError(f"{where} row {row_number}: {exc}") from None
        if any(not 0 <= h <= len(sentence) for h in heads):
            raise PetraError(f"{where} row {row_number}: a head is outside 0..{len(sentence)}")
        sentences.append(sentence)
    return sentences


def _pick(columns: set[str], names: tuple[str, ...], where: str) -> str:
    for name in names:
        if name in columns:
            return name
    raise PetraError(f"{where}: missing column {' or '.join(repr(n) for n in names)} (has: {', '.join(sorted(columns))})")


def _class_names(feature: Any) -> list[str] | None:
    """UPOS stored as ``ClassLabel`` ids (as ``universal_dependencies`` does) -> their names."""
    inner = getattr(feature, "feature", None)
    return list(inner.names) if inner is not None and hasattr(inner, "names") else None
