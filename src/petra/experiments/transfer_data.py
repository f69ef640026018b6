"""The data of a transfer experiment, for any mix of language sources: every language read once,
one tokenizer fitted on the pretraining text, encoded splits, and each target's k-shot pool.

Language indices: the source 0, then the extra pretraining languages, then the targets.
What the tokenizer sees: the source's training sentences, the extra languages', and up to
max(largest k, ``pretrain.mix.target_text``) sentences of each target's pool - never a test split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petra.config import Config
from petra.data.augment import dominant_order, is_valid_tree
from petra.data.batches import EncodedCorpus
from petra.data.sentence import Sentence
from petra.data.sources.pools import capped, fine_tuning_pool
from petra.data.tokenize import AnyTokenizer, encode_sentences, fit_tokenizer, load_tokenizer, raw_corpus
from petra.data.vocab import LabelSet
from petra.errors import PetraError
from petra.experiments.seeding import stage_seed


@dataclass(frozen=True)
class TargetData:
    name: str
    lang: int
    test: EncodedCorpus
    pool: list[Sentence]  # k-shot sentences are drawn from here (train, else dev; empty for test-only)
    pool_split: str
    order: str | None  # dominant clause order of the pool ('auto' re-ordering uses it)
    truncated_test_words: int


@dataclass(frozen=True)
class TransferData:
    tokenizer: AnyTokenizer
    labels: LabelSet
    num_classes: int
    source_train: EncodedCorpus
    source_test: EncodedCorpus
    targets: dict[str, TargetData]
    mix: list[EncodedCorpus]  # extra labelled pretraining languages
    target_text: list[EncodedCorpus]  # targets' unlabelled pool text, masked-LM only
    languages: list[str]  # index -> name, as stored in each corpus's ``lang``
    source_sentences: list[Sentence] = field(default_factory=list)  # what re-ordering augmentation draws from
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id


def read_language(entry: Any, where: str, data_dir: str | Path | None, train: int | None, test: int | None,
                  seed: int, splits: tuple[str, ...] = ("train", "dev", "test")) -> dict[str, list[Sentence]]:
    """``{split: sentences}`` of one config entry; a failure names the entry's config field."""
    try:
        return entry.read(data_dir, train, test, seed, splits)
    except PetraError as exc:
        raise PetraError(f"{where} ({entry.name}): {exc}") from None


def _pool_and(entry: Any, where: str, data_dir, train: int | None, test: int | None, seed: int,
              also: tuple[str, ...]) -> dict[str, list[Sentence]]:
    """The splits ``also`` and the fine-tuning pool (train, else dev), reading no other file."""
    splits = read_language(entry, where, data_dir, train, test, seed, ("train", *also))
    if not splits.get("train"):
        splits.update(read_language(entry, where, data_dir, train, test, seed, ("dev",)))
    return splits


@dataclass(frozen=True)
class Sentences:
    """Every language of a config, read and capped, before tokenization."""

    source_train: list[Sentence]
    source_test: list[Sentence]
    source_all: list[Sentence]  # the source's train and test splits, for label sets
    extra: dict[str, list[Sentence]]  # extra pretraining languages
    targets: dict[str, dict[str, list[Sentence]]]  # name -> every split
    text: dict[str, list[Sentence]]  # per target: the pool sentences the tokenizer may see

    def tokenizer_text(self) -> list[Sentence]:
        return [*self.source_train, *(s for v in self.extra.values() for s in v), *(s for v in self.text.values() for s in v)]


def read_languages(config: Config, data_dir: str | Path | None = None) -> Sentences:
    """Read every language of ``config`` once; errors name the config entry, before any training."""
    d, mix = config.data, config.pretrain.mix
    pool_size = max([*config.finetune.shots, mix.target_text])  # what a generated target's train split holds
    src = read_language(d.source, "data.source", data_dir, d.source_train, d.test, stage_seed(d.seed, d.source.name),
                        ("train", "test"))
    if not src.get("train") or not src.get("test"):
        raise PetraError(f"data.source ({d.source.name}) needs train and test splits (has: {', '.join(src) or 'none'})")
    extra = {}
    for i, (entry, n) in enumerate(zip(mix.languages, mix.sentences)):
        splits = _pool_and(entry, f"pretrain.mix.languages[{i}]", data_dir, n, 0, stage_seed(d.seed, entry.name), ())
        pool = fine_tuning_pool(splits)[0]
        if not pool:
            raise PetraError(f"pretrain.mix.languages[{i}] ({entry.name}) has no train or dev split to pretrain on")
        extra[entry.name] = capped(pool, n, stage_seed(d.seed, entry.name, "train"))
    targets = {}
    for i, entry in enumerate(d.targets):
        splits = _pool_and(entry, f"data.targets[{i}]", data_dir, pool_size, d.test, stage_seed(d.seed, entry.name),
                           ("test",))
        if not splits.get("test"):
            raise PetraError(f"data.targets[{i}] ({entry.name}) has no test split to score on")
        targets[entry.name] = splits
    text = {name: capped(fine_tuning_pool(splits)[0], pool_size, stage_seed(d.seed, name, "text"))
            for name, splits in targets.items()}
    return Sentences(
        capped(src["train"], d.source_train, stage_seed(d.seed, d.source.name, "train")),
        capped(src["test"], d.test, stage_seed(d.seed, d.source.name, "test")),
        [s for split in src.values() for s in split], extra, targets, text,
    )


def tokenizer_key(config: Config) -> str:
    """What the fitted tokenizer depends on: its settings and the text it is fitted on."""
    from petra.config import config_to_dict
    from petra.results.store import unit_key

    c = config_to_dict(config)
    return unit_key({"tokenizer": c["tokenizer"], "data": c["data"], "mix": c["pretrain"]["mix"],
                     "shots": c["finetune"]["shots"]})


def _tokenizer(config: Config, read: Sentences, kept: Path | None) -> AnyTokenizer:
    """``tokenizer.path`` when given; else the one fitted earlier for this data (``kept``), so a
    resumed run tokenizes exactly as before; else a new fit, kept for next time."""
    if config.tokenizer.path is not None:
        try:
            return load_tokenizer(config.tokenizer.path)
        except PetraError as exc:
            raise PetraError(f"tokenizer.path: {exc}") from None
    if kept is not None and kept.is_dir():
        return load_tokenizer(kept)
    tokenizer = fit_tokenizer(config.tokenizer, read.tokenizer_text())
    if kept is not None:
        staging = kept.with_name(f".{kept.name}.tmp")
        tokenizer.save(staging)
        staging.replace(kept)  # whole or not at all
    return tokenizer


def prepare_data(config: Config, data_dir: str | Path | None = None, kept_tokenizer: Path | None = None) -> TransferData:
    """Read every language, fit (or reuse) the tokenizer, encode the splits (same config -> same data)."""
    d, mix, max_len, labels_of = config.data, config.pretrain.mix, config.model.max_len, config.task.labels
    read = read_languages(config, data_dir)
    source_train, source_test, extra, targets, text = read.source_train, read.source_test, read.extra, read.targets, read.text
    languages = [d.source.name, *extra, *targets]
    index = {name: i for i, name in enumerate(languages)}
    pools = {name: fine_tuning_pool(splits) for name, splits in targets.items()}
    tokenizer = _tokenizer(config, read, kept_tokenizer)
    every = [*read.source_all, *(s for v in extra.values() for s in v),
             *(s for v in targets.values() for split in v.values() for s in split)]
    labels = LabelSet.build(t for s in every for t in s.token_labels(labels_of))
    num_classes = len(labels) if config.task.type == "token" else 1 + max(s.label for s in read.source_all)

    def encode(sentences: list[Sentence], name: str):
        return encode_sentences(sentences, tokenizer, labels, labels_of, max_len, index[name])

    (train_corpus, train_cut), (test_corpus, test_cut) = encode(source_train, d.source.name), encode(source_test, d.source.name)
    target_data = {}
    for name, splits in targets.items():
        test, cut = encode(capped(splits["test"], d.test, stage_seed(d.seed, name, "test")), name)
        pool, split = pools[name]
        target_data[name] = TargetData(name, index[name], test, pool, split, dominant_order(pool), cut.words)
    target_text = [raw_corpus(capped(text[name], mix.target_text, stage_seed(d.seed, name, "text")), tokenizer, max_len,
                              index[name]) for name in targets if mix.target_text and text[name]]
    stats = {
        "tokenizer_kind": config.tokenizer.kind, "tokenizer_vocab": len(tokenizer),
        "source_train_sentences": len(source_train), "source_test_sentences": len(source_test),
        "source_train_truncated_words": train_cut.words, "source_test_truncated_words": test_cut.words,
        "target_text_sentences": sum(len(c) for c in target_text),
    }
    return TransferData(
        tokenizer, labels, num_classes, train_corpus, test_corpus, target_data,
        [encode(s, name)[0] for name, s in extra.items()], target_text, languages,
        [s for s in source_train if is_valid_tree(s)] if config.finetune.augment.reorder else [], stats,
    )


def missing_cells(config: Config, data: TransferData) -> list[str]:
    """The (target, k > 0) cells no unit trains: the target's pool holds fewer than k sentences."""
    return [f"{t.name} k={k}: its {t.pool_split or 'train/dev'} pool has {len(t.pool)} sentences"
            for t in data.targets.values() for k in config.finetune.shots if k > len(t.pool)]
