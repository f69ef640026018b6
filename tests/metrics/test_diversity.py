"""Diversity of a mix: entropy, effective number of languages, MI, coverage, and mix files."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from petra.cli import app
from petra.data.synthetic import LanguageSpec, generate
from petra.errors import PetraError
from petra.metrics.diversity import (
    conditional_mutual_information, diversity, entropy_bits, load_mix, mutual_information,
)
from petra.metrics.structure import profile

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")
DEMO = Path(__file__).resolve().parents[2] / "src" / "petra" / "configs" / "demo.yaml"


@lru_cache(maxsize=None)
def lang(name: str, order: str, n: int = 300, adposition: str = "pre"):
    spec = LanguageSpec(name=name, word_order=order, adposition=adposition)
    return profile(generate(spec, n, seed=0), name)


def test_entropy_and_effective_number():
    assert entropy_bits([5, 5, 5, 5]) == pytest.approx(2.0)
    assert entropy_bits([7]) == 0.0
    single = diversity([lang("a", "SVO")])
    assert single.entropy_bits == 0.0 and single.effective_languages == 1.0
    # 1:1:2 token shares -> H = 1.5 bits -> 2^1.5 = 2.83 "equal" languages
    assert 2 ** entropy_bits([1, 1, 2]) == pytest.approx(2 ** 1.5)


def test_mutual_information_limits():
    assert mutual_information(np.outer([1, 2, 3], [4, 1])) == pytest.approx(0.0, abs=1e-12)  # independent
    assert mutual_information(np.diag([10, 10, 10, 10])) == pytest.approx(2.0)  # language fixes the value
    # I(X;Y|Z) = 0 when X and Y are independent within every Z, though they are not marginally.
    joint = np.stack([np.outer([1, 1], [9, 1]), np.outer([1, 1], [1, 9])], axis=1)  # [x, z, y]
    assert conditional_mutual_information(joint) == pytest.approx(0.0, abs=1e-12)


def test_three_orders_three_languages():
    mix = [lang("a", "SVO"), lang("b", "SOV"), lang("c", "VSO")]
    d = diversity(mix)
    clauses = [p.clauses for p in mix]
    assert d.word_order_mi_bits == pytest.approx(entropy_bits(clauses))  # order determines language
    assert d.effective_languages == pytest.approx(2 ** d.entropy_bits) and 2.9 < d.effective_languages <= 3.0
    assert d.covered_orders == ("SVO", "SOV", "VSO") and d.coverage == 0.5


def test_languages_with_one_grammar_carry_no_word_order_information():
    d = diversity([lang("a", "SVO"), lang("b", "SVO")])
    assert d.word_order_mi_bits == pytest.approx(0.0, abs=1e-12)
    assert d.head_direction_mi_bits == pytest.approx(0.0, abs=1e-12)
    assert d.covered_orders == ("SVO",)
    other = diversity([lang("a", "SVO"), lang("d", "SOV", adposition="post")])
    assert other.head_direction_mi_bits > 0.3


def test_transfer_config_mix_has_the_configs_sentence_counts():
    mix = load_mix(DEMO)
    assert [p.name for p in mix] == ["svo", "sov", "vso"]
    assert [p.sentences for p in mix] == [4000, 400, 400]  # each target generated as large as its largest k


def test_mix_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("treebanks: []\n")
    with pytest.raises(PetraError, match="empty"):
        load_mix(bad)
    bad.write_text("treebanks:\n  - {name: English-EWT, split: train}\n")
    with pytest.raises(PetraError, match=r"treebanks\[0\]: unknown key"):
        load_mix(bad)
    with pytest.raises(PetraError, match="not found"):
        load_mix(tmp_path / "absent.yaml")


def test_cli_prints_the_statistics():
    result = CliRunner().invoke(app, ["diversity", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "effective number of languages" in result.output and "3/6 SVO SOV VSO" in result.output


@needs_ud
def test_treebank_mix_covers_three_order_types(tmp_path):
    mix_file = tmp_path / "mix.yaml"
    mix_file.write_text(
        "- {name: English-EWT, splits: [test]}\n- Japanese-GSD\n- {name: Irish-IDT, max_sentences: 400}\n"
    )
    d = diversity(load_mix(mix_file, str(SHARED)))
    assert d.covered_orders == ("SVO", "SOV", "VSO")
    assert 1.0 < d.effective_languages < 3.0
    assert 0.5 < d.word_order_mi_bits <= d.max_entropy_bits


@needs_ud
def test_treebank_config_mix_is_what_the_run_reads(tmp_path):
    config = tmp_path / "ud.yaml"
    config.write_text(
        "name: t\nencodings: [rope]\ntask: {type: token, labels: upos}\n"
        "data:\n  source: {treebank: Wolof-WTB}\n  targets: [{treebank: Irish-IDT}, {treebank: Tagalog-TRG}]\n"
        "  source_train: 300\npretrain: {mix: {target_text: 120}}\nfinetune: {shots: [0]}\n"
    )
    mix = load_mix(config, str(SHARED))
    # Tagalog-TRG is test-only: test splits never enter a pretraining mix.
    assert [(p.name, p.sentences) for p in mix] == [("Wolof-WTB", 300), ("Irish-IDT", 120)]
