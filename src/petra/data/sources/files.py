"""Languages read from files: UD treebanks by name, the user's own CoNLL-U, `datasets` folders.

Their sentences carry trees and word labels but no sentence-level label, and their length is
whatever the files hold (sub-word sequences past ``model.max_len`` are cut, and the cut reported).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator

from petra.data.sentence import Sentence
from petra.errors import PetraError
from petra.section import Section

SPLITS = ("train", "dev", "test")
# A file "names its split" when one of these words stands in its name between separators.
SPLIT_WORDS = {"train": "train", "dev": "dev", "validation": "dev", "valid": "dev", "test": "test"}


class FileSource(Section):
    name: str = ""  # filled from the reference when the config gives none
    text: Path | None = Field(None, description="raw text of the language (a UTF-8 file or folder, one sentence per "
                              "line) for the tokenizer and masked-LM; never scored")
    text_sentences: int = Field(20000, gt=0, description="at most this many lines of `text` (a seeded sample)")
    kind: ClassVar[str]
    sentence_labels: ClassVar[bool] = False
    max_length: ClassVar[int | None] = None

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name"):
            data = {**data, "name": cls.default_name(data)}
        return data

    @classmethod
    def default_name(cls, data: dict) -> str:
        raise NotImplementedError

    def read(self, data_dir: str | Path | None, train: int | None, test: int | None, seed: int,
             splits: Sequence[str] = SPLITS) -> dict[str, list[Sentence]]:
        """The ``splits`` the files hold (the sizes are for generated languages; files are capped later)."""
        raise NotImplementedError


class TreebankSource(FileSource):
    treebank: str
    kind: ClassVar[str] = "treebank"

    @classmethod
    def default_name(cls, data: dict) -> str:
        return str(data.get("treebank", "")).removeprefix("UD_")

    def read(self, data_dir, train, test, seed, splits=SPLITS) -> dict[str, list[Sentence]]:
        from petra.data.ud import find_treebank

        bank = find_treebank(self.treebank, data_dir)
        return {split: bank.read(split) for split in bank.splits if split in splits}


class ConlluFiles(Section):
    train: Path | None = None
    dev: Path | None = None
    test: Path | None = None


class ConlluSource(FileSource):
    conllu: Path | ConlluFiles
    kind: ClassVar[str] = "conllu"

    @classmethod
    def default_name(cls, data: dict) -> str:
        ref = data.get("conllu")
        if isinstance(ref, dict):
            first = next((Path(v) for v in ref.values() if v), Path("conllu"))
            return first.resolve().parent.name
        return Path(str(ref)).name

    def files(self) -> dict[str, Path]:
        if isinstance(self.conllu, ConlluFiles):
            files = {s: p for s in SPLITS if (p := getattr(self.conllu, s)) is not None}
        else:
            files = split_files(self.conllu)
        if not files:
            raise PetraError(f"language {self.name!r}: no CoNLL-U file given")
        return files

    def read(self, data_dir, train, test, seed, splits=SPLITS) -> dict[str, list[Sentence]]:
        from petra.data.ud import read_conllu

        return {split: read_conllu(path, lang=self.name) for split, path in self.files().items() if split in splits}


def split_files(folder: Path) -> dict[str, Path]:
    """``{split: file}`` for the ``*.conllu`` files of ``folder`` whose names say their split."""
    if not folder.is_dir():
        raise PetraError(f"CoNLL-U folder not found: {folder}")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.conllu")):
        words = set(re.split(r"[^a-z]+", path.stem.lower()))
        named = {SPLIT_WORDS[w] for w in words if w in SPLIT_WORDS}
        if len(named) != 1:
            continue
        (split,) = named
        if split in found:
            raise PetraError(f"{folder}: two files name the {split} split ({found[split].name}, {path.name}); "
                             "give the files as {conllu: {train: F, dev: F, test: F}}")
        found[split] = path
    if not found:
        raise PetraError(f"{folder}: no .conllu file names its split (train, dev or test in the file name); "
                         "give the files as {conllu: {train: F, dev: F, test: F}}")
    return found


class DatasetsSource(FileSource):
    datasets: Path
    kind: ClassVar[str] = "datasets"

    @classmethod
    def default_name(cls, data: dict) -> str:
        return Path(str(data.get("datasets", ""))).name

    def read(self, data_dir, train, test, seed, splits=SPLITS) -> dict[str, list[Sentence]]:
        from petra.data.hf_datasets import import_splits

        return import_splits(self.datasets, lang=self.name, splits=splits)
