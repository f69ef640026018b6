"""A vocabulary that grows with a fine-tuning's target sentences (``finetune.extend_vocab``).

Wang et al. 2020 ("Extending Multilingual BERT to Low-Resource Languages") add to mBERT's vocabulary
the pieces a tokenizer learns on the new language and train their embeddings there. Here the pieces
come from what one fine-tuning may read - its k target sentences and the target's ``text:`` - never a
test sentence. For ``bpe`` the new pieces are merges of a BPE fitted on that text, appended after the
run's merges (so the run's own segmentation comes first and the new merges continue it; characters the
run spelled in bytes become pieces); for ``word``, its most frequent unseen words. Each new piece
remembers the run's pieces it replaces, so its embedding can start as their mean (petra.models.vocabulary).

Only BPE and word vocabularies grow: their new pieces continue the run's own (merges after its merges,
words beside its words); a WordPiece or Unigram fitted on other text would re-segment words the run
already knew (greedy longest match, most likely segmentation), so its old ids would no longer mean
what the pretrained model learned.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer

from petra.data.sentence import Sentence
from petra.data.tokenize import AnyTokenizer, SubwordTokenizer, TokenizerConfig, WordTokenizer
from petra.data.vocab import Vocab
from petra.errors import PetraError

GROWING_KINDS = ("bpe", "word")


@dataclass(frozen=True)
class Extension:
    """The grown tokenizer, and for each piece it added (ids ``len(base)`` on) the base ids it replaces."""

    tokenizer: AnyTokenizer
    replaced: list[list[int]]

    @property
    def added(self) -> int:
        return len(self.replaced)


def extend(tokenizer: AnyTokenizer, sentences: Sequence[Sentence], pieces: int, config: TokenizerConfig) -> Extension:
    """``tokenizer`` with at most ``pieces`` new pieces learned from ``sentences`` (none: itself)."""
    if pieces == 0 or not sentences:
        return Extension(tokenizer, [])
    if isinstance(tokenizer, WordTokenizer):
        return _new_words(tokenizer, sentences, pieces)
    if json.loads(tokenizer.tokenizer.to_str())["model"]["type"] != "BPE":
        raise PetraError(f"finetune.extend_vocab grows only {' and '.join(GROWING_KINDS)} vocabularies "
                         "(their new pieces would re-segment words the run already knew): use tokenizer kind bpe")
    return _new_merges(tokenizer, sentences, pieces, config)


def _new_words(tokenizer: WordTokenizer, sentences: Sequence[Sentence], pieces: int) -> Extension:
    counts = Counter(w for s in sentences for w in s.words if w not in tokenizer.vocab.index)
    new = sorted(counts, key=lambda w: (-counts[w], w))[:pieces]
    return Extension(WordTokenizer(Vocab(tokenizer.vocab.symbols + tuple(new))), [[tokenizer.unk_id]] * len(new))


def _new_merges(tokenizer: SubwordTokenizer, sentences: Sequence[Sentence], pieces: int,
                config: TokenizerConfig) -> Extension:
    base = json.loads(tokenizer.tokenizer.to_str())
    vocab, merges = dict(base["model"]["vocab"]), list(base["model"]["merges"])
    learned = SubwordTokenizer.train((" ".join(s.words) for s in sentences),
                                     config.model_copy(update={"kind": "bpe", "vocab_size": len(vocab) + pieces}))
    fresh = json.loads(learned.tokenizer.to_str())["model"]
    added: list[str] = []

    def add(piece: str) -> None:
        vocab[piece] = len(vocab)
        added.append(piece)

    # characters the run's vocabulary lacks (it spelled them in bytes), in the order the fitted BPE ranks them
    for piece, _ in sorted(fresh["vocab"].items(), key=lambda item: item[1]):
        if len(piece) == 1 and piece not in vocab and len(added) < pieces:
            add(piece)
    for left, right in (m if isinstance(m, list) else m.split(" ") for m in fresh["merges"]):
        if len(added) >= pieces:
            break
        if left + right not in vocab and left in vocab and right in vocab:
            merges.append([left, right])
            add(left + right)
    base["model"].update(vocab=vocab, merges=merges)
    grown = SubwordTokenizer(Tokenizer.from_str(json.dumps(base)))
    return Extension(grown, [sum(tokenizer.word_pieces([[piece]])[0], []) for piece in added])
