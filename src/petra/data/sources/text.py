"""Raw text of a language (``text: PATH`` on a language entry): what a linguist has for a small
language - a Wikipedia dump, a Bible, a web crawl - one sentence per line, words split on whitespace.

It feeds the tokenizer and masked-LM only: it carries no labels and is never scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from petra.data.sentence import Sentence
from petra.data.sources.pools import capped
from petra.errors import PetraError


def text_files(path: Path) -> list[Path]:
    """``path`` itself, or the files of the folder ``path`` (sorted; hidden files skipped)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PetraError(f"text file or folder not found: {path}")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise PetraError(f"{path}: a text folder needs at least one file (one sentence per line)")
    return files


def read_text(path: Path, lang: str) -> list[Sentence]:
    """Every non-blank line of the file(s) at ``path`` as a sentence of ``lang`` without labels; a file
    that is not UTF-8 is refused naming the file and line."""
    sentences = []
    for file in text_files(path):
        with file.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise PetraError(f"{file}:{number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
                words = tuple(line.split())
                if words:
                    sentences.append(Sentence(words, ("_",) * len(words), (0,) * len(words), ("_",) * len(words), lang))
    if not sentences:
        raise PetraError(f"{path}: no text (every line is blank)")
    return sentences


@dataclass(frozen=True)
class LanguageText:
    """The lines of one language's ``text:`` a run uses, and where they came from (its provenance)."""

    sentences: list[Sentence]
    provenance: dict


def language_text(path: Path, lang: str, cap: int, seed: int, test: set[tuple[str, ...]]) -> LanguageText:
    """At most ``cap`` lines of ``path`` (a seeded sample), without any line that is a test sentence of
    the run (``test``: their word tuples): test text never reaches the tokenizer or masked-LM."""
    every = read_text(path, lang)
    kept = [s for s in every if s.words not in test]
    used = capped(kept, cap, seed)
    provenance = {"path": str(path), "files": [str(f) for f in text_files(path)], "lines": len(every),
                  "test_sentences_dropped": len(every) - len(kept), "sentences_used": len(used)}
    return LanguageText(used, provenance)
