"""Every language of a transfer config read once, before tokenization: the sources' training and test
sentences, the extra pretraining languages, each target's splits and k-shot pool, and each language's
``text:`` lines (never a test sentence). Errors name the config entry, before any training.

``config`` below is a transfer experiment's config (petra.experiments.transfer_config.Config); the
data layer reads its sections and never imports the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petra.data.sentence import Sentence
from petra.data.sources.pools import TEST_FOLDS, Pool, capped, choose_pool
from petra.data.sources.text import LanguageText, language_text
from petra.errors import PetraError
from petra.seeding import stage_seed


def read_language(entry: Any, where: str, data_dir: str | Path | None, train: int | None, test: int | None,
                  seed: int, splits: tuple[str, ...] = ("train", "dev", "test")) -> dict[str, list[Sentence]]:
    """``{split: sentences}`` of one config entry; a failure names the entry's config field."""
    try:
        return entry.read(data_dir, train, test, seed, splits)
    except PetraError as exc:
        raise PetraError(f"{where} ({entry.name}): {exc}") from None


@dataclass(frozen=True)
class Sentences:
    """Every language of a config, read and capped, before tokenization."""

    source_train: dict[str, list[Sentence]]  # per source
    source_test: dict[str, list[Sentence]]
    extra: dict[str, list[Sentence]]  # extra pretraining languages
    targets: dict[str, dict[str, list[Sentence]]]  # name -> every split (test capped)
    pools: dict[str, Pool]  # per target: where its k-shot sentences come from
    pool_text: dict[str, list[Sentence]]  # per target: the pool sentences the tokenizer may see
    label_text: list[Sentence]  # every sentence read, uncapped: the label set covers them all
    text: dict[str, list[Sentence]]  # per language with `text:`: the lines used (no test sentence)
    text_provenance: dict[str, dict]

    def tokenizer_text(self) -> list[Sentence]:
        parts = [*self.source_train.values(), *self.extra.values(), *self.pool_text.values(), *self.text.values()]
        return [s for part in parts for s in part]

    def own_text(self, name: str) -> int:
        """How many of its own sentences the tokenizer is fitted on (training, pool and `text:` lines)."""
        parts = (self.source_train, self.extra, self.pool_text, self.text)
        return sum(len(part.get(name, [])) for part in parts)


def _where_source(config: Any, i: int) -> str:
    return f"data.source[{i}]" if isinstance(config.data.source, list) else "data.source"


def read_languages(config: Any, data_dir: str | Path | None = None) -> Sentences:
    """Read every language of ``config`` once; errors name the config entry, before any training."""
    d, mix, f = config.data, config.pretrain.mix, config.finetune
    pool_size = max(f.largest_k, mix.target_text)  # what a generated target's train split holds
    source_train, source_test, label_text, every_test = {}, {}, [], set()
    for i, entry in enumerate(d.sources):
        where = _where_source(config, i)
        seed = stage_seed(d.seed, entry.name)
        src = read_language(entry, where, data_dir, d.source_train, d.test, seed, ("train", "test"))
        if not src.get("train"):  # many treebanks ship dev and test only: their dev split is what a source trains on
            src = read_language(entry, where, data_dir, d.source_train, d.test, seed, ("dev", "test"))
        train = src.get("train") or src.get("dev")
        if not train or not src.get("test"):
            raise PetraError(f"{where} ({entry.name}) needs a train (or dev) split and a test split "
                             f"(has: {', '.join(src) or 'none'})")
        source_train[entry.name] = capped(train, d.source_train, stage_seed(d.seed, entry.name, "train"))
        source_test[entry.name] = capped(src["test"], d.test, stage_seed(d.seed, entry.name, "test"))
        every_test |= {s.words for s in src["test"]}
        label_text += [s for split in src.values() for s in split]
    extra = {}
    for i, (entry, n) in enumerate(zip(mix.languages, mix.sentences)):
        where = f"pretrain.mix.languages[{i}]"
        splits = read_language(entry, where, data_dir, n, 0, stage_seed(d.seed, entry.name), ("train", "dev"))
        text = splits.get("train") or splits.get("dev")
        if not text:
            raise PetraError(f"{where} ({entry.name}) has no train or dev split to pretrain on")
        extra[entry.name] = capped(text, n, stage_seed(d.seed, entry.name, "train"))
        label_text += extra[entry.name]
    targets, pools, pool_text = {}, {}, {}
    for i, entry in enumerate(d.targets):
        name = entry.name
        splits = read_language(entry, f"data.targets[{i}]", data_dir, pool_size, d.test, stage_seed(d.seed, name))
        if not splits.get("test"):
            raise PetraError(f"data.targets[{i}] ({name}) has no test split to score on")
        label_text += [s for split in splits.values() for s in split]
        every_test |= {s.words for s in splits["test"]}
        splits["test"] = capped(splits["test"], d.test, stage_seed(d.seed, name, "test"))
        targets[name] = splits
        pools[name] = choose_pool(f.pool, splits, splits["test"], f.largest_k, f.folds, stage_seed(d.seed, name, "folds"))
        readable = pools[name].sentences if pools[name].split != TEST_FOLDS else []
        pool_text[name] = capped(readable, pool_size, stage_seed(d.seed, name, "text"))
    given = _given_text(config, every_test)
    return Sentences(source_train, source_test, extra, targets, pools, pool_text, label_text,
                     {name: t.sentences for name, t in given.items()}, {name: t.provenance for name, t in given.items()})


def _given_text(config: Any, test: set[tuple[str, ...]]) -> dict[str, LanguageText]:
    """Each language's ``text:`` lines (none of them a test sentence); a bad file names the language."""
    given = {}
    for entry in config.languages():
        if getattr(entry, "text", None) is None:
            continue
        try:
            given[entry.name] = language_text(entry.text, entry.name, entry.text_sentences,
                                              stage_seed(config.data.seed, entry.name, "raw"), test)
        except PetraError as exc:
            raise PetraError(f"{entry.name}: text: {exc}") from None
    return given
