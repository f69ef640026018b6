"""Reading a transfer config's languages: a source without a train split trains on its dev split."""

from pathlib import Path

import pytest

from petra.config import parse_config
from petra.data.languages import read_languages
from petra.data.ud import find_treebank, read_conllu
from petra.errors import PetraError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")


def _config(source: str, source_train: int = 50):
    return parse_config({"name": "t", "task": {"type": "token", "labels": "upos"},
                         "data": {"source": [{"treebank": "English-EWT"}, {"treebank": source}],
                                  "targets": [{"treebank": "Wolof-WTB"}], "source_train": source_train, "test": 20},
                         "finetune": {"shots": [0, 10]}}, "<test>")


@needs_ud
def test_a_source_without_a_train_split_trains_on_its_dev_split():
    read = read_languages(_config("French-GSD"), SHARED)
    dev = {s.words for s in read_conllu(find_treebank("French-GSD", SHARED).splits["dev"], lang="French-GSD")}
    french = read.source_train["French-GSD"]
    assert len(french) == 50 and all(s.words in dev for s in french)
    assert len(read.source_train["English-EWT"]) == 50  # a train split is still what a source trains on
    assert not {s.words for s in french} & {s.words for s in read.source_test["French-GSD"]}


@needs_ud
def test_a_source_with_only_a_test_split_is_refused_by_its_config_entry():
    with pytest.raises(PetraError, match=r"data\.source\[1\] \(Tagalog-TRG\) needs a train \(or dev\) split"):
        read_languages(_config("Tagalog-TRG"), SHARED)
