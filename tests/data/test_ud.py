"""The CoNLL-U reader on real UD treebanks (../shared) and on files the tests write."""

from pathlib import Path

import pytest

from petra.data.ud import find_treebank, list_treebanks, read_conllu, resolve_data_dir
from petra.errors import PetraError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")

GOOD = """# text = I'm here
1-2\tI'm\t_\t_\t_\t_\t_\t_\t_\t_
1\tI\tI\tPRON\t_\t_\t3\tnsubj\t_\t_
2\t'm\tbe\tAUX\t_\t_\t3\tcop\t_\t_
3\there\there\tADV\t_\t_\t0\troot\t_\t_
3.1\tgone\t_\tVERB\t_\t_\t_\t_\t3:conj\t_

1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_
"""


def test_multiword_tokens_and_empty_nodes_are_skipped(tmp_path):
    path = tmp_path / "x-ud-test.conllu"
    path.write_text(GOOD)
    first, second = read_conllu(path)
    assert first.words == ("I", "'m", "here")
    assert first.heads == (3, 3, 0) and first.deprels == ("nsubj", "cop", "root")
    assert second.upos == ("INTJ",)


def test_bad_head_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text(GOOD.replace("3\tnsubj", "9\tnsubj"))
    with pytest.raises(PetraError, match=r"bad.conllu:3: invalid HEAD 9"):
        read_conllu(path)


def test_wrong_field_count_names_the_line(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text(GOOD.replace("2\t'm\tbe\tAUX\t_\t_\t3\tcop\t_\t_", "2\t'm\tbe\tAUX"))
    with pytest.raises(PetraError, match=r"bad.conllu:4: expected 10 tab-separated fields"):
        read_conllu(path)


def test_missing_data_dir_says_how_to_set_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PETRA_DATA", raising=False)
    with pytest.raises(PetraError, match="--data-dir"):
        resolve_data_dir()
    with pytest.raises(PetraError, match="data folder not found"):
        resolve_data_dir(tmp_path / "nowhere")


@needs_ud
def test_english_ewt_splits_and_counts():
    bank = find_treebank("English-EWT", SHARED)
    assert set(bank.splits) == {"train", "dev", "test"}
    dev = bank.read("dev")
    assert len(dev) == 2001  # MANIFEST.tsv: 2001 sentences, 25147 words
    assert sum(len(s) for s in dev) == 25147
    assert all(s.heads.count(0) >= 1 for s in dev)


@needs_ud
def test_test_only_treebank_is_a_zero_shot_target():
    bank = find_treebank("ud_tagalog-trg", SHARED)
    assert list(bank.splits) == ["test"]
    with pytest.raises(PetraError, match="has no train split"):
        bank.read("train")
    assert len(list_treebanks(SHARED)) >= 20


def test_file_cut_mid_line_names_its_last_line(tmp_path):
    path = tmp_path / "cut.conllu"
    path.write_text(GOOD.split("3\there")[0] + "3\the")  # cut inside the 5th line
    with pytest.raises(PetraError, match=r"cut.conllu:5: file ends inside a sentence \(truncated\?"):
        read_conllu(path)


def test_file_cut_between_word_lines_is_caught_by_its_text(tmp_path):
    """The partial sentence would parse (heads in range): only '# text' shows words are missing."""
    lines = GOOD.splitlines(keepends=True)
    path = tmp_path / "cut.conllu"
    path.write_text("".join(lines[:4]))  # "# text = I'm here", then only "I'm" and its words
    with pytest.raises(PetraError, match=r"cut.conllu:4: file ends inside a sentence .* '# text'"):
        read_conllu(path)


def test_last_sentence_without_final_blank_line_is_still_read(tmp_path):
    path = tmp_path / "x.conllu"
    path.write_text(GOOD.rstrip("\n") + "\n")
    assert [s.words for s in read_conllu(path)] == [("I", "'m", "here"), ("Hi",)]


@needs_ud
def test_truncated_real_treebank_names_file_and_line(tmp_path):
    text = find_treebank("English-EWT", SHARED).splits["dev"].read_text(encoding="utf-8")
    path = tmp_path / "en_ewt-ud-dev.conllu"
    path.write_text(text[:5000], encoding="utf-8")
    last_line = text[:5000].count("\n") + 1
    with pytest.raises(PetraError, match=rf"en_ewt-ud-dev.conllu:{last_line}: file ends inside a sentence"):
        read_conllu(path)


def test_junk_in_a_cut_last_sentence_is_still_a_named_error(tmp_path):
    path = tmp_path / "cut.conllu"
    path.write_text("# text = a b\n1\ta\t_\tX\t_\t_\t0\troot\t_\t_\nx-y\tjunk\n")
    with pytest.raises(PetraError, match=r"cut.conllu:3: "):
        read_conllu(path)
