"""Training a ``tokenizers`` model that is the same in every process and covers every byte: the
fitting half of :mod:`petra.data.tokenize`. The library's trainers break ties by hash-map order
(BPE's alphabet cut, WordPiece's continuation ids, Unigram's added characters); each is pinned here,
and pieces for all 256 bytes are appended so no character is ever unknown."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from petra.data.vocab import SPECIALS, UNK
from petra.errors import PetraError

if TYPE_CHECKING:
    from petra.data.tokenize import TokenizerConfig

BYTE_PIECES = tuple(f"<0x{b:02X}>" for b in range(256))  # what `byte_fallback` looks up
LONGEST_WORD = 1000  # WordPiece's per-word limit, in bytes here (its default 100 turns long words into [UNK])


def fitted(config: TokenizerConfig, kind: str, texts: Sequence[str]) -> Tokenizer:
    """A ``kind`` tokenizer trained on ``texts`` with ``config``'s settings, with every byte among its pieces."""
    return _covering_every_byte(_trained(config, kind, list(texts)))


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


def _trained(config: TokenizerConfig, kind: str, texts: Sequence[str]) -> Tokenizer:
    """A ``tokenizers`` model of ``config.kind`` trained on ``texts``, the same in every process."""
    specials = list(SPECIALS)  # order matters: ids 0, 1, 2
    common = {"vocab_size": config.vocab_size, "special_tokens": specials, "show_progress": False}
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if config.lowercase else [])
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
