"""Sub-word tokenizers for real languages (Hugging Face ``tokenizers``) and word -> sub-word labels.

A tokenizer (WordPiece, BPE or Unigram) is trained on the raw text of the pretraining mix and saved
with the run as ``tokenizer.json``. Word labels are aligned to sub-words as XTREME does (Hu et al.
2020, following Devlin et al. 2019 for NER): the FIRST sub-word of a word carries the word's label,
the rest get ``IGNORE`` so the loss and the accuracy count each word exactly once.

Ids 0, 1, 2 are ``[PAD]``, ``[UNK]``, ``[MASK]``, as in :class:`petra.data.vocab.Vocab`, so
:func:`petra.data.batches.batches`, masking and :func:`petra.training.evaluate.accuracy` work unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from petra.data.batches import IGNORE, EncodedCorpus
from petra.data.sentence import Sentence
from petra.data.vocab import SPECIALS, UNK, LabelSet
from petra.errors import PetraError

TOKENIZER_FILE = "tokenizer.json"


class TokenizerConfig(BaseModel):
    """How the sub-word vocabulary is learned (a config section of experiments on real text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["wordpiece", "bpe", "unigram"] = "wordpiece"
    vocab_size: int = Field(8000, ge=16)
    min_frequency: int = Field(2, ge=0, description="rarer pairs are not merged (WordPiece, BPE)")
    lowercase: bool = False
    limit_alphabet: int = Field(1000, gt=0, description="most frequent characters kept (WordPiece, BPE); CJK needs many")


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

    def text(self, words: Sequence[str]) -> list[str]:
        """The sub-word strings of one sentence (for inspection and tests)."""
        return self.tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False).tokens


@dataclass(frozen=True)
class Truncation:
    """How much ``max_len`` cut off: words past the limit carry no label and are not scored."""

    sentences: int = 0
    words: int = 0


def encode_sentences(
    sentences: Sequence[Sentence], tokenizer: SubwordTokenizer, labels: LabelSet, field: str = "upos",
    max_len: int | None = None,
) -> tuple[EncodedCorpus, Truncation]:
    """Sentences -> sub-word ids with first-sub-word labels (the rest ``IGNORE``).

    A sentence longer than ``max_len`` sub-words is cut there; the returned :class:`Truncation`
    says how many words lost their label, so a caller can report it rather than hide it.
    """
    tag_index = labels.index
    ids, tags, cut_sentences, cut_words = [], [], 0, 0
    for sentence, pieces in zip(sentences, tokenizer.word_pieces([s.words for s in sentences])):
        row_ids: list[int] = []
        row_tags: list[int] = []
        for word_pieces, tag in zip(pieces, sentence.token_labels(field)):
            row_ids += word_pieces
            row_tags += [tag_index.get(tag, IGNORE)] + [IGNORE] * (len(word_pieces) - 1)
        if max_len is not None and len(row_ids) > max_len:
            cut_sentences += 1
            cut_words += sum(1 for t in row_tags[max_len:] if t != IGNORE)
            row_ids, row_tags = row_ids[:max_len], row_tags[:max_len]
        ids.append(np.array(row_ids, dtype=np.int64))
        tags.append(np.array(row_tags, dtype=np.int64))
    labels_array = np.array([s.label for s in sentences], dtype=np.int64)
    return EncodedCorpus(ids, tags, labels_array), Truncation(cut_sentences, cut_words)


def raw_corpus(
    sentences: Sequence[Sentence], tokenizer: SubwordTokenizer, max_len: int | None = None
) -> EncodedCorpus:
    """Sub-word ids only (no labels): the raw text masked-LM pretraining reads."""
    ids = []
    for pieces in tokenizer.word_pieces([s.words for s in sentences]):
        row = [p for word in pieces for p in word]
        ids.append(np.array(row[:max_len] if max_len else row, dtype=np.int64))
    tags = [np.full(len(r), IGNORE, dtype=np.int64) for r in ids]
    return EncodedCorpus(ids, tags, np.full(len(ids), -1, dtype=np.int64))

