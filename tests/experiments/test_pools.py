"""Where k-shot sentences come from: train, dev, train+dev, or test folds for a treebank with too
few non-test sentences - and under test folds no sentence is both trained on and scored."""

import numpy as np
import pytest

from petra.config import parse_config
from petra.data.sources.pools import choose_pool
from petra.data.synthetic import LanguageSpec, generate
from petra.experiments.executors import LocalExecutor
from petra.experiments.transfer import run
from petra.experiments.unit import UnitRunner
from petra.results.store import ResultStore

from .test_transfer_sources import conllu

SOV = LanguageSpec(name="sov", word_order="SOV")


def _sentences(n: int, seed: int):
    """n sentences with distinct word sequences (so a sentence is known by its words)."""
    seen, out = set(), []
    for s in generate(SOV, 4 * n, seed):
        if tuple(s.words) not in seen:
            seen.add(tuple(s.words))
            out.append(s)
    return out[:n]


@pytest.mark.parametrize(("sizes", "k", "split"), [
    ({"train": 50, "dev": 30}, 40, "train"),
    ({"dev": 30}, 20, "dev"),
    ({"train": 19, "dev": 30}, 40, "train+dev"),  # train alone is smaller than k
    ({}, 20, "test-folds"),  # test only (every PUD, Tagalog-TRG)
    ({"train": 5}, 200, "test-folds"),  # nothing holds k: the largest pool, so the smaller k still run
])
def test_auto_pool(sizes, k, split):
    splits = {name: _sentences(n, i) for i, (name, n) in enumerate(sizes.items())}
    pool = choose_pool("auto", splits, _sentences(60, 9), k, 5, 0)
    assert pool.split == split
    if split == "test-folds":
        assert len(pool.folds) == 5 and pool.size == 48  # 60 test sentences, 12 per fold held out


def test_test_folds_partition_the_test_split():
    pool = choose_pool("test-folds", {}, _sentences(47, 1), 10, 5, 3)
    rows = np.concatenate(pool.folds)
    assert sorted(rows.tolist()) == list(range(47))  # every test sentence in exactly one fold
    rng = np.random.default_rng(0)
    for fold, held_out in enumerate(pool.folds):
        drawn = {id(s) for s in pool.draw(pool.size, rng, fold)}
        assert not drawn & {id(pool.sentences[i]) for i in held_out}


def test_no_sentence_is_both_trained_on_and_scored_under_test_folds(tmp_path, monkeypatch):
    (tmp_path / "t-test.conllu").write_text(conllu(_sentences(40, 2)))
    config = parse_config({
        "encodings": ["sinusoidal"], "seeds": [0, 1],
        "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32, "max_len": 48},
        "task": {"type": "token", "labels": "upos"}, "tokenizer": {"kind": "word"},
        "data": {"source": {"name": "svo"}, "targets": [{"conllu": str(tmp_path), "name": "t"}],
                 "source_train": 100, "test": 40},
        "pretrain": {"epochs": 1, "batch_size": 16},
        "finetune": {"recipes": ["full"], "shots": [0, 10, "all"], "epochs": 1, "batch_size": 8, "curve_points": 0},
        "run": {"workers": 1},
    })
    seen = []
    original = UnitRunner._finetune

    def spy(self, target, test_set, train_set, phase, label, *rest):
        seen.append((label, {tuple(ids) for ids in train_set.ids}, {tuple(ids) for ids in test_set.ids}))
        return original(self, target, test_set, train_set, phase, label, *rest)

    monkeypatch.setattr(UnitRunner, "_finetune", spy)
    results = run(config, ResultStore(tmp_path / "store"), executor=LocalExecutor(1))  # in-process: the spy sees it
    assert len(seen) == 2 * 2 * 5 * 2  # seeds x k x folds x (scratch, full)
    for label, trained, scored in seen:
        assert trained and scored and not trained & scored, label
    runs = results.runs.set_index(["seed", "recipe", "shots"])
    assert set(results.runs["shots"]) == {0, 10, 32}  # 'all': the 32 sentences outside each held-out fold
    assert (runs.loc[(0, "full", 32), "pool"], runs.loc[(0, "full", 32), "test_sentences"]) == ("test-folds", 40)
    # pooled over folds, every test sentence scored once: the scores cover the test split exactly
    scores = results.scores.set_index(["seed", "recipe", "shots"]).loc[(0, "full", 10)]
    assert sorted(scores["sentence"]) == list(range(40))


@pytest.mark.parametrize(("finetune", "message"), [
    ({"pool": "everything"}, r"'finetune.pool': Input should be 'auto', 'train', 'dev', 'train\+dev' or 'test-folds'"),
    ({"shots": [10, "all", "all"]}, r"'finetune': shots must be distinct"),
    ({"shots": ["most"]}, r"'finetune.shots.0"),
    ({"folds": 1}, r"'finetune.folds': Input should be greater than or equal to 2"),
])
def test_bad_pool_settings_name_the_field(finetune, message):
    from petra.errors import PetraError

    with pytest.raises(PetraError, match=message):
        parse_config({"finetune": finetune})
