"""Universal Dependencies treebanks (CoNLL-U, read with the ``conllu`` package) -> ``Sentence``.

Multiword-token lines (``1-2``) and empty nodes (``8.1``) are skipped, as UD specifies for basic
trees: the syntactic words carry the annotation. A malformed sentence raises :class:`PetraError`
naming the file and line. Data is found via ``--data-dir`` or ``PETRA_DATA``, never copied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import conllu

from petra.data.sentence import NO_FEATURES, Sentence
from petra.errors import PetraError

SPLITS = ("train", "dev", "test")


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """``explicit`` (a ``--data-dir`` value) or ``$PETRA_DATA``; an error says how to set either."""
    value = explicit if explicit is not None else os.environ.get("PETRA_DATA")
    if value is None:
        raise PetraError("no data folder given: pass --data-dir DIR or set PETRA_DATA=DIR (a folder holding ud/)")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise PetraError(f"data folder not found: {path} (set with --data-dir or PETRA_DATA)")
    return path


@dataclass(frozen=True)
class Treebank:
    name: str  # e.g. UD_English-EWT
    splits: dict[str, Path]  # split -> file; a treebank without "train" is a test-only target

    @property
    def language(self) -> str:
        return self.name.removeprefix("UD_").split("-")[0]

    def read(self, split: str) -> list[Sentence]:
        if split not in self.splits:
            raise PetraError(f"{self.name} has no {split} split (has: {', '.join(self.splits)})")
        return read_conllu(self.splits[split], lang=self.name)


def _ud_root(data_dir: Path) -> Path:
    return data_dir / "ud" if (data_dir / "ud").is_dir() else data_dir


def list_treebanks(data_dir: str | Path | None = None) -> list[Treebank]:
    root = _ud_root(resolve_data_dir(data_dir))
    return [_treebank(folder) for folder in sorted(root.glob("UD_*")) if folder.is_dir()]


def find_treebank(name: str, data_dir: str | Path | None = None) -> Treebank:
    """``name`` as UD spells the folder, with or without the ``UD_`` prefix (case-insensitive)."""
    root = _ud_root(resolve_data_dir(data_dir))
    wanted = name.lower().removeprefix("ud_")
    for folder in sorted(root.glob("UD_*")):
        if folder.name.lower().removeprefix("ud_") == wanted:
            return _treebank(folder)
    known = ", ".join(f.name for f in sorted(root.glob("UD_*"))) or "none"
    raise PetraError(f"treebank {name!r} not found under {root} (found: {known})")


def _treebank(folder: Path) -> Treebank:
    splits = {}
    for path in sorted(folder.glob("*.conllu")):
        match = re.search(r"-ud-(train|dev|test)\.conllu$", path.name)
        if match:
            splits[match.group(1)] = path
    return Treebank(folder.name, {s: splits[s] for s in SPLITS if s in splits})


def _blocks(path: Path) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each blank-line separated sentence block.

    A last sentence with no blank line after it may have been cut short (a truncated download or
    copy): it is checked by :func:`_check_complete` so a cut between two word lines, where the
    partial sentence would still parse, is an error naming the last line rather than silent loss.
    """
    start, lines, number = 1, [], 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                if not lines:
                    start = number
                lines.append(line)
            elif lines:
                yield start, "".join(lines)
                lines = []
    if lines:
        _check_complete(path, number, lines)
        yield start, "".join(lines)


def _check_complete(path: Path, number: int, lines: list[str]) -> None:
    """The unterminated last sentence must end with a whole line and, when it has a ``# text``
    comment, its surface tokens must spell that text (as the UD validator checks)."""
    truncated = f"{path}:{number}: file ends inside a sentence (truncated?"
    if not lines[-1].endswith("\n"):
        raise PetraError(f"{truncated} its last line has no line end)")
    # "# text = ..." only: "# text_en = ..." (a translation) does not spell this sentence
    text = next((m.group(1) for m in map(re.compile(r"#\s*text\s*=(.*)").match, lines) if m), None)
    if text is None:
        return
    forms, skip_until = [], 0
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if line.startswith("#") or len(fields) < 2:
            continue
        if re.fullmatch(r"\d+-\d+", fields[0]):  # a multiword token spells its words
            forms.append(fields[1])
            skip_until = int(fields[0].split("-")[1])
        elif fields[0].isdigit() and int(fields[0]) > skip_until:
            forms.append(fields[1])
    if "".join(forms).replace(" ", "") != "".join(text.split()):
        raise PetraError(f"{truncated} its words do not spell its '# text' line)")


def read_conllu(path: str | Path, lang: str | None = None) -> list[Sentence]:
    path = Path(path)
    if not path.is_file():
        raise PetraError(f"CoNLL-U file not found: {path}")
    lang = lang or path.stem
    return [_sentence(path, start, block, lang) for start, block in _blocks(path)]


def _sentence(path: Path, start: int, block: str, lang: str) -> Sentence:
    for offset, line in enumerate(block.splitlines()):
        if not line.startswith("#") and len(line.rstrip("\n").split("\t")) != 10:
            raise PetraError(f"{path}:{start + offset}: expected 10 tab-separated fields, got {len(line.split(chr(9)))}")
    try:
        (tokens,) = conllu.parse(block)
    except Exception as exc:  # conllu raises several types; all mean a malformed block
        raise PetraError(f"{path}:{start}: malformed CoNLL-U sentence ({exc})") from None
    words = [t for t in tokens if isinstance(t["id"], int)]
    line_of = _word_lines(block, start)
    for expected, token in enumerate(words, start=1):
        line = line_of.get(token["id"], start)
        if token["id"] != expected:
            raise PetraError(f"{path}:{line}: word ids must run 1..n, found {token['id']} where {expected} was due")
        head = token["head"]
        if not isinstance(head, int) or not 0 <= head <= len(words) or head == token["id"]:
            raise PetraError(f"{path}:{line}: invalid HEAD {head!r} for word {token['id']}")
    return Sentence(
        words=tuple(t["form"] for t in words),
        upos=tuple(t["upos"] for t in words),
        heads=tuple(t["head"] for t in words),
        deprels=tuple(t["deprel"] for t in words),
        lang=lang,
        feats=tuple(_bundle(t["feats"]) for t in words),
    )


def _bundle(feats: dict | None) -> str:
    """conllu's parsed FEATS back to the column's text (``_`` when empty), the form a label takes."""
    return "|".join(f"{name}={value}" for name, value in feats.items()) if feats else NO_FEATURES


def _word_lines(block: str, start: int) -> dict[int, int]:
    """Word id -> its line number in the file, for error messages."""
    lines = {}
    for offset, line in enumerate(block.splitlines()):
        first = line.split("\t", 1)[0]
        if first.isdigit():
            lines[int(first)] = start + offset
    return lines


def write_conllu(sentences: list[Sentence], path: str | Path, heads: list | None = None,
                 deprels: list | None = None, upos: list | None = None) -> Path:
    """Write ``sentences`` as CoNLL-U (``# sent_id`` and ``# text`` per sentence; FEATS as read; LEMMA, XPOS,
    DEPS, MISC as ``_``), each column taken from the sentence unless a prediction replaces it
    (``heads[i]``: 1-based heads of sentence i, 0 = root). A gold file written from the same sentences
    has the same words, so the official CoNLL 2018 script (conll18_ud_eval.py) aligns the two exactly."""
    from conllu.models import Metadata, Token, TokenList

    blocks = []
    for i, s in enumerate(sentences):
        columns = (upos[i] if upos else s.upos, heads[i] if heads else s.heads, deprels[i] if deprels else s.deprels)
        if not all(len(c) == len(s) for c in columns):
            raise PetraError(f"prediction {i} does not have one entry per word of its {len(s)}-word sentence")
        bundles = s.feats or (NO_FEATURES,) * len(s)
        tokens = [Token(id=j, form=w, lemma="_", upos=u, xpos="_", feats=f, head=int(h), deprel=d, deps="_", misc="_")
                  for j, (w, u, h, d, f) in enumerate(zip(s.words, *columns, bundles), start=1)]
        blocks.append(TokenList(tokens, Metadata(sent_id=str(i + 1), text=" ".join(s.words))).serialize())
    path = Path(path)
    path.write_text("".join(blocks), encoding="utf-8")
    return path
