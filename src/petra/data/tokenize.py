"""Tokenizers fitted on the text of the pretraining mix, and word -> sub-word labels.

``word`` keeps each word whole (a :class:`petra.data.vocab.Vocab`; synthetic languages' words are
already their units); ``wordpiece``, ``bpe`` and ``unigram`` train a Hugging Face ``tokenizers``
model. Either is saved with the run (``tokenizer.json`` or ``vocab.json``). Word labels are aligned to sub-words as XTREME does (Hu et al.
2020, following Devlin et al. 2019 for NER): the FIRST sub-word of a word carries the word's label,
the rest get ``IGNORE`` so the loss and the accuracy count each word exactly once.

Ids 0, 1, 2 are ``[PAD]``, ``[UNK]``, ``[MASK]``, as in :class:`petra.data.vocab.Vocab`, so
:func:`petra.data.batches.batches`, masking and :func:`petra.training.evaluate.accuracy` work unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from petra.data.batches import IGNORE, NO_HEAD, EncodedCorpus
from petra.data.sentence import Sentence
from petra.data.vocab import SPECIALS, UNK, LabelSet, Vocab
from petra.errors import PetraError
from petra.section import Section

TOKENIZER_FILE = "tokenizer.json"
VOCAB_FILE = "vocab.json"


class TokenizerConfig(Section):
    """How the vocabulary is learned from the pretraining mix (never from a test split)."""

    kind: Literal["word", "wordpiece", "bpe", "unigram"] = "word"
    vocab_size: int = Field(8000, ge=16, description="sub-word kinds; 'word' keeps every word it sees")
    min_frequency: int = Field(2, ge=0, description="rarer pairs are not merged (WordPiece, BPE)")
    lowercase: bool = False
    limit_alphabet: int = Field(1000, gt=0, description="most frequent characters kept (WordPiece, BPE); CJK needs many")
    path: Path | None = Field(None, description="use this saved tokenizer (a run's tokenizer/ folder, tokenizer.json "
                              "or vocab.json) instead of fitting one")


def _new_tokenizer(config: TokenizerConfig) -> tuple[Tokenizer, trainers.Trainer]:
    specials = list(SPECIALS)  # order matters: ids 0, 1, 2
    if config.kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
        trainer = trainers.WordPieceTrainer(
            vocab_size=config.vocab_size, min_frequency=config.min_frequency, special_tokens=specials,
            limit_alphabet=config.limit_alphabet, show_progress=False,
        )
    elif config.kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(
            vocab_size=config.vocab_size, min_frequency=config.min_frequency, special_tokens=specials,
            limit_alphabet=config.limit_alphabet, show_progress=False,
        )
    else:
        tokenizer = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(
            vocab_size=config.vocab_size, special_tokens=specials, unk_token=UNK, show_progress=False
        )
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if config.lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    # Unigram follows SentencePiece (Kudo & Richardson 2018): word starts are marked with '▁'.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace() if config.kind == "unigram" else pre_tokenizers.Whitespace()
    return tokenizer, trainer


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
        tokenizer, trainer = _new_tokenizer(config)
        tokenizer.train_from_iterator(texts, trainer)
        return cls(tokenizer)

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

    def whole_words(self) -> tuple[list[str], list[int]]:
        """Vocabulary entries that are whole words (not '##' continuations, not specials), and their ids."""
        words, rows = [], []
        for token, index in sorted(self.tokenizer.get_vocab().items(), key=lambda item: item[1]):
            if index < 3 or token.startswith("##"):
                continue
            word = token.removeprefix("▁")  # Unigram marks word starts with '▁'
            if word and word.isalpha():
                words.append(word)
                rows.append(index)
        return words, rows

    def text(self, words: Sequence[str]) -> list[str]:
        """The sub-word strings of one sentence (for inspection and tests)."""
        return self.tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False).tokens


AnyTokenizer = WordTokenizer | SubwordTokenizer


@dataclass(frozen=True)
class Truncation:
    """How much ``max_len`` cut off: words past the limit carry no label and are not scored."""

    sentences: int = 0
    words: int = 0


def fit_tokenizer(config: TokenizerConfig, sentences: Sequence[Sentence]) -> AnyTokenizer:
    """A new tokenizer fitted on ``sentences``. Word vocabularies and BPE come out the same every
    time; WordPiece and Unigram training in ``tokenizers`` is not deterministic across processes
    (hash-map order breaks ties; huggingface/tokenizers#1794), so experiments keep the one they
    fitted (see :func:`load_tokenizer`) rather than fit again."""
    if config.kind == "word":
        return WordTokenizer.train(s.words for s in sentences)
    return SubwordTokenizer.train((" ".join(s.words) for s in sentences), config)


def load_tokenizer(path: str | Path) -> AnyTokenizer:
    """A tokenizer saved by ``save``: a folder holding tokenizer.json or vocab.json, or either file."""
    path = Path(path)
    if path.is_dir():
        path = next((path / f for f in (TOKENIZER_FILE, VOCAB_FILE) if (path / f).is_file()), path / TOKENIZER_FILE)
    if path.name == VOCAB_FILE and path.is_file():
        return WordTokenizer.load(path)
    return SubwordTokenizer.load(path)


def to_transformers(tokenizer: AnyTokenizer, max_len: int):
    """The tokenizer as a ``transformers`` fast tokenizer (what ``pipeline(...)`` and the Auto classes
    load): same ids, words split on whitespace (sub-word tokenizers also split off punctuation), no
    special tokens added around a sentence (petra models are trained without them)."""
    from transformers import PreTrainedTokenizerFast

    if isinstance(tokenizer, WordTokenizer):
        backend = Tokenizer(models.WordLevel(tokenizer.vocab.index, unk_token=UNK))
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    else:
        backend = Tokenizer.from_str(tokenizer.tokenizer.to_str())
        marks = {models.WordPiece: decoders.WordPiece, models.Unigram: decoders.Metaspace}  # BPE here marks nothing
        if backend.decoder is None and type(backend.model) in marks:  # pipelines print words, not '##' pieces
            backend.decoder = marks[type(backend.model)]()
    pad, unk, mask = SPECIALS
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=pad, unk_token=unk, mask_token=mask,
                                   model_max_length=max_len)


def encode_sentences(
    sentences: Sequence[Sentence], tokenizer: AnyTokenizer, labels: LabelSet, field: str = "upos",
    max_len: int | None = None, lang: int = 0,
) -> tuple[EncodedCorpus, Truncation]:
    """Sentences -> sub-word ids with first-sub-word labels (the rest ``IGNORE``).

    A sentence longer than ``max_len`` sub-words is cut there; the returned :class:`Truncation`
    says how many words lost their label, so a caller can report it rather than hide it.
    """
    tag_index = labels.index
    ids, tags, heads, cut_sentences, cut_words = [], [], [], 0, 0
    for sentence, pieces in zip(sentences, tokenizer.word_pieces([s.words for s in sentences])):
        row_ids: list[int] = []
        row_tags: list[int] = []
        starts: list[int] = []  # each word's first sub-word position
        for word_pieces, tag in zip(pieces, sentence.token_labels(field)):
            starts.append(len(row_ids))
            row_ids += word_pieces
            row_tags += [tag_index.get(tag, IGNORE)] + [IGNORE] * (len(word_pieces) - 1)
        row_heads = np.full(len(row_ids), IGNORE, dtype=np.int64)
        for start, head in zip(starts, sentence.heads):
            row_heads[start] = 0 if head == 0 else 1 + starts[head - 1]
        if max_len is not None and len(row_ids) > max_len:
            cut_sentences += 1
            cut_words += sum(1 for t in row_tags[max_len:] if t != IGNORE)
            row_ids, row_tags, row_heads = row_ids[:max_len], row_tags[:max_len], row_heads[:max_len]
            row_heads[row_heads > max_len] = NO_HEAD  # the head word was cut off: not scored
        ids.append(np.array(row_ids, dtype=np.int64))
        tags.append(np.array(row_tags, dtype=np.int64))
        heads.append(row_heads)
    labels_array = np.array([s.label for s in sentences], dtype=np.int64)
    return EncodedCorpus(ids, tags, labels_array, lang, heads), Truncation(cut_sentences, cut_words)


def raw_corpus(sentences: Sequence[Sentence], tokenizer: AnyTokenizer, max_len: int | None = None, lang: int = 0) -> EncodedCorpus:
    """Sub-word ids only (no labels): the raw text masked-LM pretraining reads."""
    ids = []
    for pieces in tokenizer.word_pieces([s.words for s in sentences]):
        row = [p for word in pieces for p in word]
        ids.append(np.array(row[:max_len] if max_len else row, dtype=np.int64))
    tags = [np.full(len(r), IGNORE, dtype=np.int64) for r in ids]
    return EncodedCorpus(ids, tags, np.full(len(ids), -1, dtype=np.int64), lang)

