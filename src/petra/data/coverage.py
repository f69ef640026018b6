"""How well a tokenizer covers a language: what its test words look like when they reach the model.

A target in a script the tokenizer never saw arrives as a row of ``[UNK]`` (word and old WordPiece
vocabularies) or as a spelling in bytes, many pieces per word (byte fallback): either way the PE
comparison on it then measures how the pipeline handled the language, not the PE. These figures
make that visible in ``coverage.csv``, ``targets.csv``, the CLI and the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from petra.data.sentence import Sentence
from petra.data.tokenize import AnyTokenizer

UNKNOWN_LIMIT = 0.01  # above this share of [UNK] words a target is flagged
PIECES_LIMIT = 3.0  # above this many pieces per word a target is flagged (words spelled out, not learned)


@dataclass(frozen=True)
class Coverage:
    """One language's test split under the run's tokenizer."""

    language: str
    role: str  # source | target
    test_words: int
    unknown_rate: float  # share of words with an [UNK] piece
    byte_rate: float  # share of words spelled (partly) in byte pieces: characters the vocabulary lacks
    pieces_per_word: float
    test_types_seen: float  # share of its test word types found in the text the tokenizer was fitted on
    own_text_sentences: int  # of its own sentences, how many the tokenizer was fitted on


def measure(tokenizer: AnyTokenizer, language: str, role: str, test: Sequence[Sentence], seen: set[str],
            own_text_sentences: int) -> Coverage:
    """Coverage of ``test`` (one language's test sentences); ``seen``: the words of the tokenizer's text."""
    unknown = byte = pieces = words = 0
    bytes_ = tokenizer.byte_ids
    for sentence in tokenizer.word_pieces([s.words for s in test]):
        for word in sentence:
            words += 1
            pieces += len(word)
            unknown += tokenizer.unk_id in word
            byte += any(p in bytes_ for p in word)
    types = {w for s in test for w in s.words}
    share = lambda n: round(n / words, 4) if words else 0.0  # noqa: E731
    return Coverage(language, role, words, share(unknown), share(byte), share(pieces),
                    round(len(types & seen) / len(types), 4) if types else 0.0, own_text_sentences)


def warnings(rows: Iterable[Mapping], kind: str | None = None) -> list[str]:
    """One line per target whose words do not reach the model as words: its [UNK] rate above 1% or
    more than 3 pieces per word, with the likeliest cause and what to do. ``rows``: :class:`Coverage`
    fields (``coverage.csv``); ``kind``: the tokenizer kind, when known."""
    lines = []
    for row in rows:
        if row["role"] != "target":
            continue
        unknown, pieces = row["unknown_rate"] > UNKNOWN_LIMIT, row["pieces_per_word"] > PIECES_LIMIT
        if not (unknown or pieces):
            continue
        what = [f"{row['unknown_rate']:.1%} of its test words reach the model as [UNK]"] if unknown else []
        what += [f"{row['pieces_per_word']:.1f} pieces per word"] if pieces else []
        if row["own_text_sentences"] == 0:
            cause = "its text never reached the tokenizer: give `text:`" + (
                " or use a kind with byte fallback (bpe)" if unknown else " (its words are spelled in bytes)")
        elif unknown:
            cause = (f"the {kind or 'tokenizer'} vocabulary lacks its words or characters: use kind bpe (byte fallback) "
                     "or give more of its text (`text:`)")
        else:
            cause = (f"its {row['own_text_sentences']} sentences of text are few beside the sources': give more `text:` "
                     "or a larger tokenizer.vocab_size")
        lines.append(f"{row['language']}: {' and '.join(what)} - {cause}")
    return lines
