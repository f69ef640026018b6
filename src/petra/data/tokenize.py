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
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from petra.data.sentence import Sentence
from petra.data.vocab import SPECIALS, UNK, Vocab
from petra.errors import PetraError
from petra.section import Section

TOKENIZER_FILE = "tokenizer.json"
VOCAB_FILE = "vocab.json"
KINDS = ("word", "wordpiece", "bpe", "unigram")
BYTE_PIECES = tuple(f"<0x{b:02X}>" for b in range(256))  # what `byte_fallback` looks up
LONGEST_WORD = 1000  # WordPiece's per-word limit, in bytes here (its default 100 turns long words into [UNK])


class TokenizerConfig(Section):
    """How the vocabulary is learned from the pretraining mix (never from a test split)."""

    kind: Literal[KINDS] | None = Field(None, description="null: bpe when a language is read from files (treebank, "
                                        "conllu, datasets), word when every language is synthetic")
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


def _characters(tokenizer: Tokenizer, texts: Sequence[str]) -> Counter:
    """How often each character of ``texts`` occurs once the tokenizer has normalised them."""
    return Counter(c for text in texts for c in tokenizer.normalizer.normalize_str(text) if not c.isspace())


def _alphabet(tokenizer: Tokenizer, texts: Sequence[str], limit: int) -> list[str]:
    """The ``limit`` most frequent characters of ``texts`` as the tokenizer normalises them, ties broken
    by code point. ``tokenizers`` cuts its alphabet at ``limit_alphabet`` with an unstable sort of
    counts, so equally frequent characters (common in CJK text) were kept or dropped by hash-map order
    and the same text gave another BPE in another process; an alphabet chosen here and handed over as
    ``initial_alphabet`` with ``limit_alphabet`` equal to its size leaves the trainer nothing to choose."""
    counts = _characters(tokenizer, texts)
    return sorted(counts, key=lambda c: (-counts[c], c))[:limit]


def _trained(config: TokenizerConfig, texts: Sequence[str]) -> Tokenizer:
    """A ``tokenizers`` model of ``config.kind`` trained on ``texts``, the same in every process."""
    specials = list(SPECIALS)  # order matters: ids 0, 1, 2
    common = {"vocab_size": config.vocab_size, "special_tokens": specials, "show_progress": False}
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if config.lowercase else [])
    kind = config.kind or default_kind(files=True)
    if kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=LONGEST_WORD))
        tokenizer.normalizer = normalizers.Sequence(steps)
        # No 'Ġ' word-start byte (GPT-2's): transformers' pipelines tell a word's first piece by its
        # length matching the text, which 'Ġ' breaks. The decoder drops '##' marks before turning bytes
        # back into characters (it joins words without spaces, as BPE's does; pipelines decode per word).
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Whitespace(), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tokenizer.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.ByteLevel()])
        vocab = _wordpiece_vocab(tokenizer, texts, config, common)
        tokenizer.model = models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=LONGEST_WORD)
        return tokenizer
    if kind == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        tokenizer.normalizer = normalizers.Sequence(steps)
        alphabet = _alphabet(tokenizer, texts, config.limit_alphabet)
        trainer = trainers.BpeTrainer(min_frequency=config.min_frequency, initial_alphabet=alphabet,
                                      limit_alphabet=len(alphabet), **common)
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        tokenizer.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    elif kind == "unigram":
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.normalizer = normalizers.Sequence(steps)
        trainer = trainers.UnigramTrainer(unk_token=UNK, **common)
        # Unigram follows SentencePiece (Kudo & Richardson 2018): word starts are marked with '▁'.
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace()])
    else:
        raise PetraError(f"tokenizer kind {kind!r} is not a sub-word kind (wordpiece, bpe, unigram)")
    if kind == "unigram" and len(characters := _characters(tokenizer, texts)) > config.vocab_size:
        raise PetraError(f"tokenizer: unigram keeps every character of its text as a piece, and this text has "
                         f"{len(characters)}: set tokenizer.vocab_size above that, or use kind bpe (rarer characters in bytes)")
    tokenizer.train_from_iterator(texts, trainer)
    return _unigram_in_score_order(tokenizer) if kind == "unigram" else tokenizer


CONTINUATION = 0xF0000  # supplementary private-use plane: a character here continues a word


def _wordpiece_vocab(tokenizer: Tokenizer, texts: Sequence[str], config: TokenizerConfig, common: dict) -> dict[str, int]:
    """WordPiece's pieces, learned the same way in every process. ``tokenizers``' WordPieceTrainer is its
    BPE trainer with '##' continuations, and it numbers those as it meets them in a hash map, so ties
    between equally frequent merges went another way in another process (huggingface/tokenizers#1794).
    Here the same BPE runs on words whose non-initial characters are moved to a private-use plane (a
    continuation is then an ordinary character, numbered in sorted order like the rest), and each
    piece is moved back: one that starts with a moved character is a '##' piece."""
    words = []
    for text in texts:
        for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(tokenizer.normalizer.normalize_str(text)):
            words.append(word[0] + "".join(chr(CONTINUATION + ord(c)) for c in word[1:]))
    marked = Tokenizer(models.BPE(unk_token=UNK))
    marked.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    alphabet = sorted(set("".join(words)))
    marked.train_from_iterator(words, trainers.BpeTrainer(
        min_frequency=config.min_frequency, initial_alphabet=alphabet, limit_alphabet=len(alphabet), **common))

    def unmarked(piece: str) -> str:
        if piece in SPECIALS:
            return piece
        text = "".join(chr(ord(c) - CONTINUATION) if ord(c) >= CONTINUATION else c for c in piece)
        return "##" + text if ord(piece[0]) >= CONTINUATION else text

    pieces = dict.fromkeys(unmarked(p) for p, _ in sorted(marked.get_vocab().items(), key=lambda item: item[1]))
    return {piece: i for i, piece in enumerate(pieces)}  # a literal '##x' word and the continuation 'x' are one piece


LADDER_STEP = 1e-4  # tokenizers' UnigramTrainer: the k-th character it must add scores (lowest score) + k * 1e-4


def _unigram_in_score_order(tokenizer: Tokenizer) -> Tokenizer:
    """Unigram's pieces with the scores one text always gives, numbered by score, ties by spelling.
    ``tokenizers`` learns the same pieces every time but (1) gives the characters it adds at the end
    (every character must be a piece) the scores lowest + k * 1e-4 with k in hash-set order, (2) differs
    in the last bits of the others (parallel sums), and (3) lists equal scores in hash-map order: the same
    text gave other scores and ids in another process. Here the added characters take the ladder in
    code-point order, and scores are rounded to 1e-6 (the parallel differences are ~1e-15: a score that
    close to a rounding edge is about one fit in 10^5 at 8,000 pieces)."""
    data = json.loads(tokenizer.to_str())
    vocab = data["model"]["vocab"]
    learned = vocab[len(SPECIALS):]
    lowest = min(score for _, score in learned)
    step = lambda score: (score - lowest) / LADDER_STEP  # noqa: E731
    rungs = {p: round(step(score)) for p, score in learned if len(p) == 1 and abs(step(score) - round(step(score))) < 1e-5}
    top = next(k for k in range(len(rungs) + 1) if k not in rungs.values())  # the ladder is k = 0, 1, ... without gaps
    added = sorted(p for p, k in rungs.items() if k < top)
    rung = {piece: lowest + k * LADDER_STEP for k, piece in enumerate(added)}
    learned = [[piece, round(rung.get(piece, score), 6)] for piece, score in learned]
    data["model"]["vocab"] = vocab[:len(SPECIALS)] + sorted(learned, key=lambda p: (-p[1], p[0]))
    return Tokenizer.from_str(json.dumps(data))


def _covering_every_byte(tokenizer: Tokenizer) -> Tokenizer:
    """The trained tokenizer with pieces for every byte appended (ids after the learned ones, in byte
    order, so the same training gives the same ids): ``<0xNN>`` and ``byte_fallback`` for BPE and
    Unigram; each byte character and its ``##`` continuation for the byte-level WordPiece."""
    data = json.loads(tokenizer.to_str())
    model = data["model"]
    if model["type"] == "WordPiece":
        alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
        missing = [p for c in alphabet for p in (c, "##" + c) if p not in model["vocab"]]
        model["vocab"].update({p: len(model["vocab"]) + i for i, p in enumerate(missing)})
    elif model["type"] == "BPE":
        model["vocab"].update({p: len(model["vocab"]) + i for i, p in enumerate(BYTE_PIECES)})
        model["byte_fallback"] = True
    else:  # Unigram: (piece, log-probability) pairs; bytes rank below every learned piece
        lowest = min(score for _, score in model["vocab"])
        model["vocab"] += [[p, lowest - 1.0] for p in BYTE_PIECES]
        model["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(data))


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
        return cls(_covering_every_byte(_trained(config, list(texts))))

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


AnyTokenizer = WordTokenizer | SubwordTokenizer


def fit_tokenizer(config: TokenizerConfig, sentences: Sequence[Sentence]) -> AnyTokenizer:
    """A new tokenizer fitted on ``sentences``, the same every time in any process, for every kind
    (tested): the same config gives the same numbers in a fresh run."""
    if config.kind == "word":
        return WordTokenizer.train(s.words for s in sentences)
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
    if path.is_dir():
        path = next((path / f for f in (TOKENIZER_FILE, VOCAB_FILE) if (path / f).is_file()), path / TOKENIZER_FILE)
    if path.name == VOCAB_FILE and path.is_file():
        return WordTokenizer.load(path)
    return SubwordTokenizer.load(path)
