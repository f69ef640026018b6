"""Tokenizers fitted on the text of the pretraining mix, and word -> sub-word labels.

``word`` keeps each word whole (a :class:`petra.data.vocab.Vocab`; synthetic languages' words are
already their units); ``bpe``, ``wordpiece`` and ``unigram`` train a Hugging Face ``tokenizers``
model. Every sub-word kind covers every script: a character its pieces lack is spelled in bytes,
so no word reaches the model as ``[UNK]`` for lack of coverage (a target in a script the sources
never showed would otherwise be a row of ``[UNK]``s). ``bpe`` and ``unigram`` use the library's
``byte_fallback`` (the 256 pieces ``<0x00>``..``<0xFF>``, SentencePiece's names, follow the learned
vocabulary); ``tokenizers``' WordPiece has no byte fallback (one unknown character makes the whole
word ``[UNK]``), so ``wordpiece`` reads words as bytes (GPT-2's byte-to-character map, Radford et al.
2019) with all 256 and their ``##`` continuations in its vocabulary.

Either is saved with the run (``tokenizer.json`` or ``vocab.json``); word labels are aligned to
sub-words in :mod:`petra.data.word_labels`. Ids 0, 1, 2 are ``[PAD]``, ``[UNK]``, ``[MASK]``, as in
:class:`petra.data.vocab.Vocab`, so batches, masking and accuracy work unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
from tokenizers import Tokenizer, decoders

from petra.data.pretrained_tokenizer import CONFIG_FILE, PretrainedTokenizer
from petra.data.sentence import Sentence
from petra.data.tokenizer_fit import BYTE_PIECES, fitted
from petra.data.vocab import SPECIALS, Vocab
from petra.errors import PetraError
from petra.section import Section

TOKENIZER_FILE = "tokenizer.json"
VOCAB_FILE = "vocab.json"
FITTED_KINDS = ("word", "wordpiece", "bpe", "unigram")
PRETRAINED = "pretrained"  # the pretrained encoder's own tokenizer (model.pretrained), never fitted
KINDS = (*FITTED_KINDS, PRETRAINED)


class TokenizerConfig(Section):
    """How the vocabulary is learned from the pretraining mix (never from a test split)."""

    kind: Literal[KINDS] | None = Field(None, description="null: pretrained with model.pretrained (the model's own "
                                        "tokenizer), else bpe when a language is read from files (treebank, conllu, "
                                        "datasets), word when every language is synthetic")
    vocab_size: int = Field(8000, ge=16, description="learned pieces (sub-word kinds; the 256 byte pieces come on top); "
                            "'word' keeps every word it sees")
    min_frequency: int = Field(2, ge=0, description="rarer pairs are not merged (WordPiece, BPE)")
    lowercase: bool = False
    limit_alphabet: int = Field(1000, gt=0, description="most frequent characters kept as pieces (BPE; rarer ones are "
                                "spelled in bytes); CJK needs many")
    path: Path | None = Field(None, description="use this saved tokenizer (a run's tokenizer/ folder, tokenizer.json "
                              "or vocab.json) instead of fitting one")


def default_kind(files: bool) -> str:
    """The kind a config that names none gets: sub-words for real text, words for synthetic languages."""
    return "bpe" if files else "word"


@dataclass(frozen=True)
class WordTokenizer:
    """Whole words as tokens: ids follow :meth:`Vocab.build` (by frequency, then spelling)."""

    vocab: Vocab
    pad_id: ClassVar[int] = 0
    unk_id: ClassVar[int] = 1
    mask_id: ClassVar[int] = 2

    @classmethod
    def train(cls, texts: Iterable[Sequence[str]]) -> WordTokenizer:
        return cls(Vocab.build(w for words in texts for w in words))

    @classmethod
    def load(cls, file: Path) -> WordTokenizer:
        symbols = json.loads(file.read_text())
        if not isinstance(symbols, list) or tuple(symbols[:3]) != SPECIALS:
            raise PetraError(f"{file}: not a petra word vocabulary (a JSON list starting with {list(SPECIALS)})")
        return cls(Vocab(tuple(symbols)))

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / VOCAB_FILE).write_text(json.dumps(list(self.vocab.symbols), ensure_ascii=False))
        return directory / VOCAB_FILE

    def __len__(self) -> int:
        return len(self.vocab)

    def word_pieces(self, words: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        index, unk = self.vocab.index, self.unk_id
        return [[[index.get(w, unk)] for w in sentence] for sentence in words]

    def whole_words(self) -> tuple[list[str], list[int]]:
        return list(self.vocab.symbols[3:]), list(range(3, len(self.vocab)))

    byte_ids: ClassVar[frozenset[int]] = frozenset()  # whole words only: an unseen word is [UNK]


@dataclass(frozen=True)
class SubwordTokenizer:
    """A trained HF tokenizer plus the ids the models need; saved and loaded as ``tokenizer.json``."""

    tokenizer: Tokenizer
    pad_id: ClassVar[int] = 0  # same ids as petra.data.vocab.Vocab
    unk_id: ClassVar[int] = 1
    mask_id: ClassVar[int] = 2

    def __post_init__(self) -> None:
        for expected, token in enumerate(SPECIALS):
            if self.tokenizer.token_to_id(token) != expected:
                raise PetraError(f"tokenizer must map {token} to id {expected}, got {self.tokenizer.token_to_id(token)}")

    @classmethod
    def train(cls, texts: Iterable[str], config: TokenizerConfig) -> SubwordTokenizer:
        return cls(fitted(config, config.kind or default_kind(files=True), texts))

    @classmethod
    def load(cls, path: str | Path) -> SubwordTokenizer:
        path = Path(path)
        file = path / TOKENIZER_FILE if path.is_dir() else path
        if not file.is_file():
            raise PetraError(f"tokenizer file not found: {file}")
        try:
            return cls(Tokenizer.from_file(str(file)))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
            raise PetraError(f"{file}: not a Hugging Face tokenizer file ({exc})") from None

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(directory / TOKENIZER_FILE))
        return directory / TOKENIZER_FILE

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def word_pieces(self, words: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """For each sentence, the sub-word ids of each word. A word the tokenizer reduces to nothing
        (e.g. a form made only of characters the normaliser drops) becomes ``[UNK]``, so every word
        keeps a first sub-word to carry its label."""
        encodings = self.tokenizer.encode_batch([list(w) for w in words], is_pretokenized=True, add_special_tokens=False)
        result = []
        for sentence, encoding in zip(words, encodings):
            pieces: list[list[int]] = [[] for _ in sentence]
            for token_id, word_id in zip(encoding.ids, encoding.word_ids):
                if word_id is not None:
                    pieces[word_id].append(token_id)
            result.append([p or [self.unk_id] for p in pieces])
        return result

    @cached_property
    def _byte_level(self) -> bool:
        return "ByteLevel" in json.dumps(json.loads(self.tokenizer.to_str())["pre_tokenizer"])

    def piece_text(self, token: str) -> str:
        """The text a vocabulary entry spells, without its word-start or continuation mark; '\ufffd'
        where it is only part of a character (a byte piece)."""
        if token in BYTE_PIECES:
            return "\ufffd"
        token = token.removeprefix("##").removeprefix("▁")  # WordPiece continuations, Unigram word starts
        return decoders.ByteLevel().decode([token]) if self._byte_level else token

    @cached_property
    def byte_ids(self) -> frozenset[int]:
        """Ids of the pieces that are bytes rather than whole characters: what a word is spelled in when
        the vocabulary has no piece for one of its characters."""
        return frozenset(i for token, i in self.tokenizer.get_vocab().items() if "\ufffd" in self.piece_text(token))

    def whole_words(self) -> tuple[list[str], list[int]]:
        """Vocabulary entries that are whole words (not '##' continuations, not specials), and their ids."""
        words, rows = [], []
        for token, index in sorted(self.tokenizer.get_vocab().items(), key=lambda item: item[1]):
            if index < 3 or token.startswith("##"):
                continue
            word = self.piece_text(token)
            if word and word.isalpha():
                words.append(word)
                rows.append(index)
        return words, rows

    def text(self, words: Sequence[str]) -> list[str]:
        """The sub-word strings of one sentence (for inspection and tests)."""
        return self.tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False).tokens


AnyTokenizer = WordTokenizer | SubwordTokenizer | PretrainedTokenizer


def fit_tokenizer(config: TokenizerConfig, sentences: Sequence[Sentence]) -> AnyTokenizer:
    """A new tokenizer fitted on ``sentences``, the same every time in any process, for every kind
    (tested): the same config gives the same numbers in a fresh run."""
    if config.kind == "word":
        return WordTokenizer.train(s.words for s in sentences)
    if config.kind == PRETRAINED:
        raise PetraError("a pretrained model's tokenizer is loaded with it (model.pretrained), never fitted")
    return SubwordTokenizer.train((" ".join(s.words) for s in sentences), config)


def as_json(tokenizer: AnyTokenizer) -> str:
    """The tokenizer as the JSON text ``save`` writes (a kept model carries a grown tokenizer this way)."""
    if isinstance(tokenizer, WordTokenizer):
        return json.dumps(list(tokenizer.vocab.symbols), ensure_ascii=False)
    return tokenizer.tokenizer.to_str()


def from_json(text: str) -> AnyTokenizer:
    """The tokenizer :func:`as_json` wrote."""
    symbols = json.loads(text)
    return WordTokenizer(Vocab(tuple(symbols))) if isinstance(symbols, list) else SubwordTokenizer(Tokenizer.from_str(text))


def load_tokenizer(path: str | Path) -> AnyTokenizer:
    """A tokenizer saved by ``save``: a folder holding tokenizer.json or vocab.json, or either file."""
    path = Path(path)
    if path.is_dir() and (path / CONFIG_FILE).is_file():
        return PretrainedTokenizer.load(path)
    if path.is_dir():
        path = next((path / f for f in (TOKENIZER_FILE, VOCAB_FILE) if (path / f).is_file()), path / TOKENIZER_FILE)
    if path.name == VOCAB_FILE and path.is_file():
        return WordTokenizer.load(path)
    return SubwordTokenizer.load(path)
