"""Data of the UD-POS experiment: treebanks (UD folders or `datasets` folders), the pretraining mix,
the tokenizer trained on it, encoded splits, and the augmentation of each k-shot set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from petra.data.augment import (
    DictionaryTranslator, HFTranslator, SynonymLexicon, Translator, back_translate, dominant_order, is_valid_tree,
    reorder, replace_synonyms,
)
from petra.data.batches import EncodedCorpus
from petra.data.hf_datasets import import_splits, is_dataset_dir
from petra.data.sentence import Sentence
from petra.data.tokenize import SubwordTokenizer, Truncation, encode_sentences, raw_corpus
from petra.data.ud import find_treebank, list_treebanks
from petra.data.vocab import LabelSet
from petra.errors import PetraError
from petra.experiments.seeding import stage_seed

if TYPE_CHECKING:
    from petra.experiments.udpos import AugmentConfig, UdPosConfig
    from petra.models import PetraModel

# The 17 Universal POS tags (UD v2): one fixed label set, so every treebank maps to the same ids.
UPOS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ",
    "SYM", "VERB", "X",
)


@dataclass(frozen=True)
class TargetData:
    name: str
    test: EncodedCorpus
    pool: list[Sentence]  # k-shot sentences come from here: train, else dev; empty for test-only
    pool_split: str
    order: str | None  # dominant clause order of the pool ('auto' re-ordering uses it)
    test_words: int
    truncation: Truncation


@dataclass(frozen=True)
class UdPosData:
    tokenizer: SubwordTokenizer
    labels: LabelSet
    source: str
    source_train: EncodedCorpus
    source_test: EncodedCorpus
    source_sentences: list[Sentence]  # what re-ordering augmentation draws from
    mix: EncodedCorpus  # raw sub-word text for masked-LM
    targets: list[TargetData]
    stats: dict[str, object] = field(default_factory=dict)


def load_splits(ref: str, data_dir: str | Path | None, wanted: Sequence[str]) -> tuple[str, dict[str, list[Sentence]]]:
    """A treebank by UD name (under the data folder), or a folder saved by `datasets`."""
    path = Path(ref).expanduser()
    if path.is_dir() and is_dataset_dir(path):
        splits = import_splits(path)
        return path.name, {s: v for s, v in splits.items() if s in wanted}
    bank = find_treebank(ref, data_dir)
    return bank.name, {s: bank.read(s) for s in wanted if s in bank.splits}


def _pool(splits: dict[str, list[Sentence]]) -> tuple[list[Sentence], str]:
    for name in ("train", "dev"):
        if splits.get(name):
            return splits[name], name
    return [], ""


def _sample(items: list, cap: int | None, seed: int) -> list:
    if cap is None or len(items) <= cap:
        return items
    rows = np.random.default_rng(seed).choice(len(items), size=cap, replace=False)
    return [items[i] for i in sorted(rows)]


def target_names(config: UdPosConfig, data_dir: str | Path | None, source: str) -> list[str]:
    if config.data.targets != "all":
        return list(config.data.targets)
    return [b.name for b in list_treebanks(data_dir) if b.name.lower() != source.lower()]


def prepare_data(config: UdPosConfig, data_dir: str | Path | None = None) -> UdPosData:
    """Read every treebank once, train the tokenizer on the mix, and encode the splits."""
    d, max_len = config.data, config.model.max_len
    source, src = load_splits(d.source, data_dir, ("train", "test"))
    if "train" not in src or "test" not in src:
        raise PetraError(f"source treebank {source} needs train and test splits (has: {', '.join(src) or 'none'})")
    source_train = _sample(src["train"], d.source_train, stage_seed(d.seed, "source-train"))
    banks = {}
    for ref in target_names(config, data_dir, source):
        name, splits = load_splits(ref, data_dir, ("train", "dev", "test"))
        if "test" not in splits:
            raise PetraError(f"target treebank {name} has no test split to evaluate on")
        banks[name] = splits
    mix_text = _mix(config, source, source_train, banks, data_dir)
    tokenizer = SubwordTokenizer.train((" ".join(s.words) for s in mix_text), config.tokenizer)
    labels = LabelSet(UPOS)
    train_corpus, train_cut = encode_sentences(source_train, tokenizer, labels, "upos", max_len)
    source_test = _sample(src["test"], d.test, stage_seed(d.seed, source, "test"))
    test_corpus, test_cut = encode_sentences(source_test, tokenizer, labels, "upos", max_len)
    targets = []
    for name, splits in banks.items():
        test = _sample(splits["test"], d.test, stage_seed(d.seed, name, "test"))
        corpus, cut = encode_sentences(test, tokenizer, labels, "upos", max_len)
        pool, pool_split = _pool(splits)
        targets.append(TargetData(name, corpus, pool, pool_split, dominant_order(pool), sum(map(len, test)), cut))
    stats = {
        "tokenizer_vocab": len(tokenizer), "mix_sentences": len(mix_text), "source_train_sentences": len(source_train),
        "source_test_sentences": len(source_test), "source_train_truncated_words": train_cut.words,
        "source_test_truncated_words": test_cut.words,
        "unknown_upos": sum(1 for s in source_train for t in s.upos if t not in labels.index),
    }
    return UdPosData(
        tokenizer, labels, source, train_corpus, test_corpus, [s for s in source_train if is_valid_tree(s)],
        raw_corpus(mix_text, tokenizer, max_len),
        targets, stats,
    )


def _mix(config: UdPosConfig, source: str, source_train: list[Sentence], banks: dict, data_dir) -> list[Sentence]:
    """Raw sentences of the pretraining mix: never a test split (it is what targets are scored on)."""
    d, text = config.data, []
    names: list[str] = []
    for ref in d.mix:
        names += [source] if ref == "source" else list(banks) if ref == "targets" else [ref]
    for name in dict.fromkeys(names):
        if name == source:
            pool = source_train
        elif name in banks:
            pool = _pool(banks[name])[0]
        else:
            pool = _pool(load_splits(name, data_dir, ("train", "dev"))[1])[0]
        text += _sample(pool, d.mix_sentences, stage_seed(d.seed, name, "mix"))
    if not text:
        raise PetraError("data.mix has no raw text: list treebanks with a train or dev split (test splits are never used)")
    return text


# --- augmentation of a k-shot set ------------------------------------------------------------------


@dataclass
class Augmenters:
    """What one unit builds once and applies to every k-shot set it trains on."""

    lexicon: SynonymLexicon | None = None
    translators: tuple[Translator, Translator] | None = None


def build_augmenters(cfg: AugmentConfig, model: PetraModel, tokenizer: SubwordTokenizer) -> Augmenters:
    out = Augmenters()
    if cfg.synonyms is not None:
        s = cfg.synonyms
        if s.lexicon is not None:
            out.lexicon = SynonymLexicon.from_tsv(s.lexicon)
        elif s.vectors is not None:
            out.lexicon = SynonymLexicon.from_vectors_file(s.vectors, s.k, s.min_similarity)
        else:
            words, rows = _whole_word_tokens(tokenizer)
            table = model.encoder.embed.weight.detach().numpy()[rows]
            out.lexicon = SynonymLexicon.from_embeddings(words, table, s.k, s.min_similarity)
    if cfg.back_translation is not None:
        b = cfg.back_translation
        if b.dictionary is not None:
            out.translators = (DictionaryTranslator.from_tsv(b.dictionary), DictionaryTranslator.from_tsv(b.dictionary, reverse=True))
        else:
            out.translators = (HFTranslator(b.forward_model), HFTranslator(b.backward_model))
    return out


def _whole_word_tokens(tokenizer: SubwordTokenizer) -> tuple[list[str], list[int]]:
    """Vocabulary entries that are whole words (not '##' continuations, not specials)."""
    words, rows = [], []
    for token, index in sorted(tokenizer.tokenizer.get_vocab().items(), key=lambda item: item[1]):
        if index < 3 or token.startswith("##"):
            continue
        word = token.removeprefix("▁")  # Unigram marks word starts with '▁'
        if word and word.isalpha():
            words.append(word)
            rows.append(index)
    return words, rows


def augment_shots(
    shots: list[Sentence], target: TargetData, data: UdPosData, cfg: AugmentConfig, tools: Augmenters,
    rng: np.random.Generator,
) -> list[Sentence]:
    """The k target sentences plus what each configured augmentation adds."""
    out = list(shots)
    if cfg.reorder is not None:
        r = cfg.reorder
        order = target.order if r.order == "auto" else r.order
        if order is not None:  # 'auto' with no subject-object clause in the pool: nothing to match
            picks = rng.choice(len(data.source_sentences), size=min(r.source_sentences, len(data.source_sentences)), replace=False)
            out += [reorder(data.source_sentences[i], order, r.flip_adpositions, r.flip_adjectives) for i in picks]
    if tools.lexicon is not None and cfg.synonyms is not None:
        out += [replace_synonyms(s, tools.lexicon, cfg.synonyms.prob, rng) for _ in range(cfg.synonyms.copies) for s in shots]
    if tools.translators is not None:
        out += back_translate(shots, *tools.translators)
    return out
