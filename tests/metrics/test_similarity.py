"""Distances between structure profiles and URIEL distances: known values, metric properties,
the synthetic ordering, and the real-language sanity checks."""

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from petra.cli import app
from petra.data.synthetic import LanguageSpec, generate
from petra.errors import PetraError
from petra.metrics import similarity as sim
from petra.metrics.structure import FEATURES, ORDERS, profile, treebank_profile

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")


@lru_cache(maxsize=None)
def synthetic(order: str, seed: int = 0):
    spec = LanguageSpec(name=order.lower(), word_order=order)
    return profile(generate(spec, 600, seed=seed), f"{order}/{seed}")


@lru_cache(maxsize=None)
def real(name: str, split: str | None = None):
    return treebank_profile(name, SHARED, [split] if split else None)


def test_kl_uses_add_half_smoothing():
    # counts (1, 0) vs (0, 1) -> (0.75, 0.25) vs (0.25, 0.75): KL = 0.5 ln 3
    assert sim.kl_divergence(np.array([1, 0]), np.array([0, 1])) == pytest.approx(0.5 * np.log(3))
    p, q = np.array([5, 1]), np.array([1, 2])
    assert sim.kl_divergence(p, q) != pytest.approx(sim.kl_divergence(q, p))
    assert sim.symmetric_kl(p, q) == pytest.approx(sim.symmetric_kl(q, p))


def test_js_distance_bounds():
    assert sim.js_distance(np.array([4, 0]), np.array([0, 9])) == pytest.approx(1.0)
    assert sim.js_distance(np.array([2, 6]), np.array([1, 3])) == pytest.approx(0.0)


def test_word_order_ground_cost_counts_adjacent_swaps():
    cost = sim.GROUND_COSTS["word_order"]
    svo = ORDERS.index("SVO")
    assert {o: round(cost[svo, i] * 3) for i, o in enumerate(ORDERS)} == {
        "SVO": 0, "SOV": 1, "VSO": 1, "VOS": 2, "OSV": 2, "OVS": 3,
    }


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(sim.GROUND_COSTS)), st.data())
def test_every_ground_cost_is_a_metric(feature, data):
    cost = sim.GROUND_COSTS[feature]
    i, j, k = (data.draw(st.integers(0, len(cost) - 1)) for _ in range(3))
    assert cost[i, i] == 0 and cost[i, j] == cost[j, i]
    assert cost[i, k] <= cost[i, j] + cost[j, k] + 1e-12


def test_wasserstein_of_lengths_is_the_shift():
    p, q = np.zeros(20), np.zeros(20)
    p[0], q[2] = 5, 7  # every arc of length 1 vs every arc of length 3
    assert sim._length_wasserstein(p, q) == pytest.approx(2.0)


@pytest.mark.parametrize("feature", FEATURES)
@pytest.mark.parametrize("measure", sim.MEASURES)
def test_a_language_is_at_distance_zero_from_itself(feature, measure):
    assert sim.feature_distance(synthetic("SOV"), synthetic("SOV"), feature, measure) == pytest.approx(0.0, abs=1e-12)


def test_synthetic_ordering_svo_svo_lt_svo_sov_lt_svo_osv():
    """Word order under W1 (Kendall ground cost): another SVO corpus 0 < SOV 1/3 < OSV 2/3.

    JS and KL cannot order them: each language is a point mass on its own order, so SOV and OSV
    are equally disjoint from SVO. Head direction cannot either (both make the object precede
    the verb; S-before-O is not a head-dependent relation), nor UPOS bigrams and dependency lengths, so
    the combined distance (their mean JS) puts SOV and OSV about equally far (measured 0.34 vs 0.33)
    and far above another SVO corpus.
    """
    svo, svo2, sov, osv = synthetic("SVO"), synthetic("SVO", seed=1), synthetic("SOV"), synthetic("OSV")
    w1 = [sim.feature_distance(svo, x, "word_order", "wasserstein") for x in (svo2, sov, osv)]
    assert w1 == pytest.approx([0.0, 1 / 3, 2 / 3])
    assert sim.feature_distance(svo, sov, "word_order", "js") == sim.feature_distance(svo, osv, "word_order", "js") == 1.0
    assert sim.feature_distance(svo, sov, "head_direction", "js") == pytest.approx(
        sim.feature_distance(svo, osv, "head_direction", "js"))
    combined = [sim.combined_distance(svo, x) for x in (svo2, sov, osv)]
    assert combined[0] < 0.05 < 0.3 < min(combined[1:])
    assert abs(combined[1] - combined[2]) < 0.05


def test_matrices_are_square_and_js_is_symmetric_while_kl_is_not():
    profiles = [synthetic("SVO"), synthetic("SOV"), synthetic("VSO")]
    matrices = sim.distance_matrices(profiles)
    assert len(matrices) == len(FEATURES) * len(sim.MEASURES) + 1
    js = matrices["upos_bigram.js"].to_numpy()
    assert js.shape == (3, 3) and np.allclose(js, js.T) and np.allclose(np.diag(js), 0)
    kl = matrices["dependency_length.kl"].to_numpy()
    assert not np.allclose(kl, kl.T)


def test_iso_codes_and_their_errors():
    assert sim.iso_code("English-EWT") == "eng" and sim.iso_code("UD_Irish-IDT") == "gle"
    assert sim.iso_code("Kazakh-KTB") == "kaz" and sim.iso_code("Old_French-SRCMF") == "fro"
    with pytest.raises(PetraError, match="synthetic language"):
        sim.iso_code("synthetic:SOV")
    with pytest.raises(PetraError, match="no ISO 639-3 code found for language 'Qwertyish'"):
        sim.iso_code("Qwertyish-KDT")


def _bank(root, folder: str, file: str, source) -> None:
    """A treebank folder under ``root/ud`` holding a copy of ``source`` as its test split."""
    (root / "ud" / folder).mkdir(parents=True)
    (root / "ud" / folder / file).write_text(source.read_text())


@needs_ud
def test_a_treebank_outside_every_table_gets_its_code_from_its_file_names(tmp_path):
    """UD names files by language code: kk_x-ud-test.conllu -> kk -> kaz, whatever the folder's
    language name; URIEL then knows Kazakh."""
    turkish = SHARED / "ud" / "UD_Turkish-IMST" / "tr_imst-ud-test.conllu"
    _bank(tmp_path, "UD_Kazakh-X", "kk_x-ud-test.conllu", turkish)
    _bank(tmp_path, "UD_Turkish-IMST", "tr_imst-ud-test.conllu", turkish)
    _bank(tmp_path, "UD_Notalanguage-Y", "kk_y-ud-test.conllu", turkish)  # the name says nothing: the file does
    assert sim.iso_codes("Notalanguage-Y", tmp_path) == ["kaz"]
    assert sim.uriel_distance("Kazakh-X", "Turkish-IMST", "syntactic", tmp_path) == pytest.approx(0.588, abs=0.01)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["similarity", "Kazakh-X", "Turkish-IMST", "--data-dir", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "uriel.syntactic" in result.output and "0.588" in result.output


def test_uriel_syntactic_english_german_closer_than_english_japanese():
    assert sim.uriel_distance("English", "German") < sim.uriel_distance("English-EWT", "Japanese-GSD")
    assert sim.uriel_distance("German-GSD", "German-PUD") == 0.0


@needs_ud
def test_uriel_reports_missing_languages_and_undefined_pairs(tmp_path, caplog):
    _bank(tmp_path, "UD_Placeholder-X", "qqq_x-ud-test.conllu",  # qqq: an ISO code reserved for local use
          SHARED / "ud" / "UD_Wolof-WTB" / "wo_wtb-ud-test.conllu")
    with pytest.raises(PetraError, match="'Placeholder-X' .*'qqq'.* missing from URIEL"):
        sim.uriel_distance("English", "Placeholder-X", data_dir=tmp_path)
    assert np.isnan(sim.uriel_distance("Welsh", "English", "phonological"))
    assert "phonological distance Welsh–English undefined" in caplog.text


def test_uriel_leaves_the_root_logger_as_it_found_it():
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    sim.uriel_distance("English", "Turkish", "geographic")
    assert (root.level, list(root.handlers)) == before


def test_cli_prints_matrices_and_writes_heat_maps(tmp_path):
    result = CliRunner().invoke(app, ["similarity", "synthetic:SVO", "synthetic:SOV,adposition=post", "--sentences", "300",
                                      "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "combined" in result.output and "word_order.wasserstein" in result.output
    assert {p.name for p in tmp_path.glob("*.png")} >= {"combined.png", "word_order.png", "upos_bigram.png"}
    assert (tmp_path / "word_order.wasserstein.csv").read_text().count("0.333") == 2


@needs_ud
def test_measured_syntax_english_german_closer_than_english_japanese():
    english, german, japanese = real("English-EWT", "test"), real("German-GSD"), real("Japanese-GSD")
    for feature, measure in (("word_order", "wasserstein"), ("word_order", "js"), ("head_direction", "js")):
        to_german = sim.feature_distance(english, german, feature, measure)
        assert to_german < sim.feature_distance(english, japanese, feature, measure)
    assert sim.combined_distance(english, german) < sim.combined_distance(english, japanese)


@needs_ud
def test_the_code_ud_wrote_comes_before_its_normalised_form():
    """tl_trg-ud-test.conllu: tl is Tagalog (tgl); langcodes normalises it to Filipino (fil), for
    which URIEL has no syntactic features."""
    assert sim.iso_codes("Tagalog-TRG", SHARED) == ["tgl", "fil"]
    assert sim.uriel_distance("English-EWT", "Tagalog-TRG", "syntactic", SHARED) == pytest.approx(0.616, abs=0.01)
