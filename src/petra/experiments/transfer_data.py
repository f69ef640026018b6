"""The data of a transfer experiment, for any mix of language sources: every language read once,
one tokenizer fitted on the pretraining text, encoded splits, and each target's k-shot pool.

Language indices: the sources, then the extra pretraining languages, then the targets.
What the tokenizer sees: every source's training sentences, the extra languages', up to
max(largest k, ``pretrain.mix.target_text``) sentences of each target's pool, and each language's
own ``text:`` - never a test sentence, so a target whose pool is its test folds lends the
tokenizer (and masked-LM) only the text its entry gives. How well the tokenizer then covers each
language's test words is measured (petra.data.coverage) and kept with the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from petra.experiments.transfer_config import Config
from petra.data import coverage
from petra.data.reorder import dominant_order, is_valid_tree
from petra.data.batches import EncodedCorpus, subset
from petra.data.sentence import Sentence
from petra.data.languages import Sentences, read_languages
from petra.data.sources.pools import Pool, capped
from petra.data.pretrained_tokenizer import PretrainedTokenizer
from petra.data.tokenize import AnyTokenizer, fit_tokenizer, load_tokenizer
from petra.data.word_labels import encode_sentences, raw_corpus
from petra.data.vocab import LabelSet
from petra.errors import PetraError
from petra.seeding import stage_seed
from petra.tasks import get_task


@dataclass(frozen=True)
class SourceData:
    name: str
    lang: int
    train: EncodedCorpus
    test: EncodedCorpus
    reorder: list[Sentence]  # valid trees re-ordering augmentation draws from (empty unless asked)
    truncated_words: dict[str, int]  # per split: words cut at model.max_len


@dataclass(frozen=True)
class TargetData:
    name: str
    lang: int
    test: EncodedCorpus
    pool: Pool  # k-shot sentences are drawn from here
    order: str | None  # dominant clause order of the pool ('auto' re-ordering uses it)
    truncated_test_words: int
    test_sentences: list[Sentence] = field(default_factory=list)  # what ``test`` encodes (a grown vocabulary re-reads it)

    def shots(self, wanted: list[int | str]) -> list[int]:
        """The k this target runs: 0, every k its pool holds, and 'all' as the pool's size."""
        ks = [k for k in wanted if k == 0 or (k != "all" and k <= self.pool.size)]
        if "all" in wanted and self.pool.size and self.pool.size not in ks:
            ks.append(self.pool.size)
        return ks

    def scored(self, fold: int | None) -> tuple[EncodedCorpus, list[int]]:
        """The test sentences a fine-tuning is scored on (the held-out fold) and their test rows."""
        if fold is None:
            return self.test, list(range(len(self.test)))
        rows = self.pool.folds[fold].tolist()
        return subset(self.test, rows), rows

    @property
    def folds(self) -> list[int | None]:
        return list(range(len(self.pool.folds))) if self.pool.folds else [None]


@dataclass(frozen=True)
class TransferData:
    tokenizer: AnyTokenizer
    labels: LabelSet
    num_classes: int
    sources: dict[str, SourceData]
    targets: dict[str, TargetData]
    mix: list[EncodedCorpus]  # extra labelled pretraining languages
    unlabelled: list[EncodedCorpus]  # masked-LM only: targets' pool text, every language's `text:`
    languages: list[str]  # index -> name, as stored in each corpus's ``lang``
    stats: dict[str, Any] = field(default_factory=dict)
    text: dict[str, list[Sentence]] = field(default_factory=dict)  # per language: its `text:` lines used

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id


def tokenizer_key(config: Config) -> str:
    """What the fitted tokenizer depends on: its settings and the text it is fitted on."""
    from petra.config import config_to_dict, content_key

    c = config_to_dict(config)
    f = c["finetune"]
    return content_key({"tokenizer": c["tokenizer"], "data": c["data"], "mix": c["pretrain"]["mix"],
                     "shots": f["shots"], "pool": f["pool"], "folds": f["folds"]})


def _tokenizer(config: Config, read: Sentences, kept: Path | None) -> AnyTokenizer:
    """The pretrained model's own; else ``tokenizer.path`` when given; else the one fitted earlier for this data (``kept``), so a
    resumed run tokenizes exactly as before; else a new fit, kept for next time."""
    if config.model.pretrained is not None:
        return PretrainedTokenizer.load(config.model.pretrained)
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
    mix, max_len, task = config.pretrain.mix, config.model.max_len, get_task(config.task)
    read = read_languages(config, data_dir)
    for name, sentences in [*read.source_train.items(), *((name, splits["test"]) for name, splits in read.targets.items())]:
        task.check(name, sentences)  # before any tokenizer is fitted
    languages = [*read.source_train, *read.extra, *read.targets]
    index = {name: i for i, name in enumerate(languages)}
    tokenizer = _tokenizer(config, read, kept_tokenizer)
    labels = LabelSet.build(t for s in read.label_text for t in task.word_labels(s))
    every_source = [s for part in read.source_train.values() for s in part]
    num_classes = task.num_classes(labels, every_source)

    def encode(sentences: list[Sentence], name: str):
        return encode_sentences(sentences, tokenizer, labels, task.word_labels, max_len, index[name])

    sources = {}
    for name, train in read.source_train.items():
        (train_corpus, train_cut), (test_corpus, test_cut) = encode(train, name), encode(read.source_test[name], name)
        reorder = [s for s in train if is_valid_tree(s)] if config.finetune.augment.reorder else []
        sources[name] = SourceData(name, index[name], train_corpus, test_corpus, reorder,
                                   {"train": train_cut.words, "test": test_cut.words})
    target_data = {}
    for name, splits in read.targets.items():
        test, cut = encode(splits["test"], name)
        pool = read.pools[name]
        target_data[name] = TargetData(name, index[name], test, pool, dominant_order(pool.sentences), cut.words,
                                       splits["test"])
    unlabelled = [raw_corpus(capped(read.pool_text[name], mix.target_text, stage_seed(config.data.seed, name, "text")),
                             tokenizer, max_len, index[name]) for name in read.targets if mix.target_text and read.pool_text[name]]
    if "mlm" in config.pretrain.objectives:
        unlabelled += [raw_corpus(text, tokenizer, max_len, index[name]) for name, text in read.text.items()]
    stats = {
        "tokenizer_kind": config.tokenizer.kind, "tokenizer_vocab": len(tokenizer),
        "sources": {name: {"train_sentences": len(s.train), "test_sentences": len(s.test),
                           "train_truncated_words": s.truncated_words["train"],
                           "test_truncated_words": s.truncated_words["test"]} for name, s in sources.items()},
        "unlabelled_sentences": sum(len(c) for c in unlabelled),
        "text": read.text_provenance,
        "coverage": language_coverage(read, tokenizer),
    }
    return TransferData(tokenizer, labels, num_classes, sources, target_data,
                        [encode(s, name)[0] for name, s in read.extra.items()], unlabelled, languages, stats, read.text)


def language_coverage(read: Sentences, tokenizer: AnyTokenizer) -> list[dict]:
    """:class:`petra.data.coverage.Coverage` of every source's and target's test split, as table rows."""
    seen = {w for s in read.tokenizer_text() for w in s.words}
    tests = [*((name, "source", test) for name, test in read.source_test.items()),
             *((name, "target", splits["test"]) for name, splits in read.targets.items())]
    return [asdict(coverage.measure(tokenizer, name, role, test, seen, read.own_text(name))) for name, role, test in tests]


def missing_cells(config: Config, data: TransferData) -> list[str]:
    """The (target, k > 0) cells no unit trains: the target's pool holds fewer than k sentences
    (or none, for 'all')."""
    return [f"{t.name} k={k}: its {t.pool.split or 'train/dev/test'} pool holds {t.pool.size} sentences"
            for t in data.targets.values() for k in config.finetune.shots
            if k not in t.shots(config.finetune.shots) and not (k == "all" and t.pool.size)]
