"""Prepared splits to and from Hugging Face `datasets` folders (bring-your-own-data format)."""

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from petra.data.hf_datasets import export_splits, import_splits, is_dataset_dir
from petra.data.synthetic import LanguageSpec, generate
from petra.errors import PetraError


def test_round_trip_keeps_every_field(tmp_path):
    spec = LanguageSpec(name="sov", word_order="SOV")
    splits = {"train": generate(spec, 30, seed=1), "test": generate(spec, 10, seed=2)}
    export_splits(splits, tmp_path / "sov")
    assert is_dataset_dir(tmp_path / "sov")
    back = import_splits(tmp_path / "sov")
    assert set(back) == {"train", "test"}
    for name, sentences in splits.items():
        # the synthetic sentence label is not a UD field; everything else must survive
        assert [(s.words, s.upos, s.heads, s.deprels, s.lang) for s in back[name]] == [
            (s.words, s.upos, s.heads, s.deprels, s.lang) for s in sentences
        ]


def test_universal_dependencies_layout_is_accepted(tmp_path):
    """Columns as the `universal_dependencies` dataset has them: tokens, UPOS class ids, string heads."""
    features = Features({
        "tokens": List(Value("string")), "upos": List(ClassLabel(names=["NOUN", "VERB", "PRON"])),
        "head": List(Value("string")), "deprel": List(Value("string")),
    })
    rows = {"tokens": [["I", "sleep"]], "upos": [[2, 1]], "head": [["2", "0"]], "deprel": [["nsubj", "root"]]}
    DatasetDict({"validation": Dataset.from_dict(rows, features=features)}).save_to_disk(str(tmp_path / "mine"))
    back = import_splits(tmp_path / "mine")
    (sentence,) = back["dev"]
    assert sentence.words == ("I", "sleep") and sentence.upos == ("PRON", "VERB") and sentence.heads == (2, 0)
    assert sentence.lang == "mine"


def test_bad_folders_and_rows_are_named(tmp_path):
    with pytest.raises(PetraError, match="not a Hugging Face dataset folder"):
        import_splits(tmp_path)
    Dataset.from_dict({"words": [["a"]], "upos": [["X"]]}).save_to_disk(str(tmp_path / "nohead"))
    with pytest.raises(PetraError, match=r"missing column 'heads' or 'head'"):
        import_splits(tmp_path / "nohead")
    rows = {"words": [["a", "b"]], "upos": [["X", "X"]], "heads": [[0, 7]], "deprels": [["root", "dep"]]}
    Dataset.from_dict(rows).save_to_disk(str(tmp_path / "badhead"))
    with pytest.raises(PetraError, match=r"badhead\[test\] row 0: a head is outside 0..2"):
        import_splits(tmp_path / "badhead")
