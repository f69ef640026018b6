"""Every word reaches the model: the default sub-word kind leaves no [UNK] on a script the sources
lack, coverage is measured per language and warned about, and `text:` feeds the tokenizer and
masked-LM but never the scores (real UD treebanks from ../shared/data)."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from petra.cli import app
from petra.config import parse_config
from petra.data.coverage import warnings
from petra.data.sources.text import read_text
from petra.data.ud import find_treebank
from petra.errors import PetraError
from petra.experiments.transfer_data import prepare_data

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")

SMALL = {
    "name": "scripts", "encodings": ["sinusoidal"], "seeds": [0],
    "model": {"dim": 32, "layers": 1, "heads": 2, "ffn_dim": 64, "max_len": 64},
    "task": {"type": "token", "labels": "upos"},
    "data": {"source": {"treebank": "English-EWT"}, "targets": [{"treebank": "Arabic-PUD"}], "source_train": 300, "test": 40},
    "pretrain": {"epochs": 1, "batch_size": 32},
    "finetune": {"recipes": ["full"], "shots": [0], "epochs": 1},
    "run": {"workers": 1},
}


def _config(**sections):
    return parse_config({**SMALL, **sections})


def _coverage(data) -> dict[str, dict]:
    return {row["language"]: row for row in data.stats["coverage"]}


@needs_ud
def test_arabic_from_english_has_no_unknown_word_with_the_default_kind():
    config = _config()
    assert config.tokenizer.kind == "bpe"  # treebanks: sub-words by default
    arabic = _coverage(prepare_data(config, SHARED))["Arabic-PUD"]
    assert arabic["unknown_rate"] == 0 and arabic["test_words"] > 500
    assert arabic["byte_rate"] > 0.8  # a test-only target: no text of its own, so spelled in bytes ...
    assert arabic["own_text_sentences"] == 0
    (line,) = warnings([arabic], "bpe")  # ... and flagged, naming the cause
    assert line.startswith("Arabic-PUD:") and "pieces per word" in line and "never reached the tokenizer" in line


@needs_ud
def test_word_kind_leaves_arabic_unknown_and_says_so():
    arabic = _coverage(prepare_data(_config(tokenizer={"kind": "word"}), SHARED))["Arabic-PUD"]
    assert arabic["unknown_rate"] > 0.8
    (line,) = warnings([arabic], "word")
    assert "reach the model as [UNK]" in line and "use a kind with byte fallback (bpe)" in line


@needs_ud
def test_text_reaches_tokenizer_and_masked_lm_never_the_scores(tmp_path):
    """Urdu (Arabic script) as the Arabic target's `text:`, with three of Arabic's test sentences
    slipped in: those are dropped, the rest teaches the tokenizer the script and joins masked-LM."""
    urdu = find_treebank("Urdu-UDTB", SHARED).read("dev")[:300]
    arabic_test = find_treebank("Arabic-PUD", SHARED).read("test")[:3]
    lines = [" ".join(s.words) for s in urdu + arabic_test]
    (tmp_path / "ar.txt").write_text("\n".join(lines) + "\n\n")
    without = prepare_data(_config(), SHARED)
    target = {"treebank": "Arabic-PUD", "text": str(tmp_path / "ar.txt")}
    data = prepare_data(_config(data={**SMALL["data"], "targets": [target]}), SHARED)
    provenance = data.stats["text"]["Arabic-PUD"]
    assert provenance["lines"] == 303 and provenance["test_sentences_dropped"] == 3
    assert provenance["sentences_used"] == 300
    arabic = _coverage(data)["Arabic-PUD"]
    # Urdu writes yeh and kaf with other code points than Arabic (ی/ي, ک/ك): those words still need bytes
    before = _coverage(without)["Arabic-PUD"]
    assert arabic["own_text_sentences"] == 300 and arabic["byte_rate"] < 0.7 * before["byte_rate"]
    assert arabic["pieces_per_word"] < 0.6 * before["pieces_per_word"]
    text = [c for c in data.unlabelled if c.lang == data.targets["Arabic-PUD"].lang]
    assert len(text) == 1 and len(text[0]) == 300 and not text[0].labelled  # masked-LM only
    assert len(data.targets["Arabic-PUD"].test) == len(without.targets["Arabic-PUD"].test) == 40  # scored: the test split


def test_text_that_is_not_utf8_names_file_and_line(tmp_path):
    (tmp_path / "t.txt").write_bytes("good line\n".encode() + b"bad \xff line\n")
    with pytest.raises(PetraError, match=r"t.txt:2: not UTF-8"):
        read_text(tmp_path / "t.txt", "xx")
    with pytest.raises(PetraError, match="text file or folder not found"):
        read_text(tmp_path / "missing", "xx")


@needs_ud
def test_a_wordpiece_run_without_target_text_warns_in_cli_tables_and_report(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**SMALL, "tokenizer": {"kind": "wordpiece", "vocab_size": 2000}}))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out), "--data-dir", str(SHARED)])
    assert result.exit_code == 0, result.output
    assert "coverage: Arabic-PUD" in " ".join(result.output.split())
    coverage = pd.read_csv(out / "coverage.csv").set_index("language")
    assert coverage.loc["Arabic-PUD", "unknown_rate"] == 0 and coverage.loc["Arabic-PUD", "pieces_per_word"] > 3
    assert coverage.loc["English-EWT", "pieces_per_word"] < 3 and coverage.loc["English-EWT", "role"] == "source"
    assert pd.read_csv(out / "targets.csv").loc[0, "pieces_per_word"] > 3
    assert "Coverage: Arabic-PUD" in (out / "report.html").read_text()


@needs_ud
def test_a_missing_text_file_names_the_language_before_any_training(tmp_path):
    target = {"treebank": "Arabic-PUD", "text": str(tmp_path / "nope.txt")}
    with pytest.raises(PetraError, match=r"Arabic-PUD: text: text file or folder not found: .*nope.txt"):
        prepare_data(_config(data={**SMALL["data"], "targets": [target]}), SHARED)
