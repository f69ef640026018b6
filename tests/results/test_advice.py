"""`petra advise`: rankers learn what decides transfer, NDCG behaves, and a target no source can serve
gets a clear message."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from petra.data.sentence import Sentence
from petra.errors import PetraError
from petra.metrics.advice_features import ALL_FEATURES, describe, moving_ttr, pair_features
from petra.metrics.ranking import ndcg_at
from petra.results.advice import advise, evaluate, feature_signal

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _matrix(deciding: str, targets: int = 12, sources: int = 8, seed: int = 0) -> pd.DataFrame:
    """Random features; transfer = the deciding feature (closer = better) plus a little noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(targets):
        for s in range(sources):
            row = {"source": f"S{s}", "target": f"T{t}", **{f: rng.random() for f in ALL_FEATURES}}
            row["k_shot"] = row[deciding] + 0.01 * rng.standard_normal()
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("deciding", ["word_overlap", "combined"])
def test_rankers_learn_the_feature_that_decides_transfer(deciding):
    table = _matrix(deciding)
    if deciding == "combined":  # a distance: nearer sources transfer better
        table["k_shot"] = 1 - table["k_shot"]
    scores = evaluate(table).set_index("ranker")
    for learned, least in (("lambdarank", 0.85), ("ridge", 0.95)):  # 88 training pairs, 33 features, one matters
        assert scores.loc[learned, "ndcg@3"] > least and scores.loc[learned, "spearman"] > 0.8
        assert scores.loc[learned, "ndcg@3"] > scores.loc["random", "ndcg@3"] + 0.3
    assert scores.loc[f"feature:{deciding}", "spearman"] > 0.95  # the single deciding measure, signed right
    assert scores.loc["random", "spearman"] == pytest.approx(0, abs=0.15)
    signal = feature_signal(table)
    assert signal.iloc[0]["feature"] == deciding
    assert signal.set_index("feature")["lambdarank_gain"].idxmax() == deciding


def test_ndcg_is_one_for_the_measured_order_and_lower_reversed():
    measured = np.array([0.9, 0.5, 0.7, 0.1, 0.3])
    assert ndcg_at(measured, measured) == pytest.approx(1.0)
    assert ndcg_at(measured, -measured) < 0.2
    assert ndcg_at(measured, np.array([0.7, 0.9, 0.5, 0.1, 0.3])) < 1.0


def test_moving_ttr_does_not_grow_with_corpus_size():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in rng.zipf(1.5, 20000) % 3000]
    assert moving_ttr(words[:2000]) == pytest.approx(moving_ttr(words), abs=0.03)
    assert len(set(words[:2000])) / 2000 > len(set(words)) / len(words) + 0.05  # the plain ratio would


def _sentences(words: list[list[str]], lang: str, trees: bool) -> list[Sentence]:
    return [Sentence(tuple(w), ("NOUN",) * len(w), tuple(range(len(w))) if trees else (0,) * len(w),
                     ("dep",) * len(w), lang) for w in words]


def test_a_target_no_source_can_serve_gets_a_clear_message():
    latin = describe("Latin-X", _sentences([["the", "cat", "sat"], ["a", "dog", "ran"]] * 20, "Latin-X", True), 40, None)
    other = describe("Glyph-Y", _sentences([["ᚠᚢᚦ", "ᚨᚱᚲ"], ["ᚷᚹ", "ᚺᚾᛁ"]] * 20, "Glyph-Y", False), 40, None)
    assert pair_features(latin, other)["char_coverage"] == pair_features(latin, other)["script_overlap"] == 0.0
    table = _matrix("word_overlap")
    with pytest.raises(PetraError, match=r"no usable source for Glyph-Y: no candidate shares its script .* 0%, by "
                                         r"Latin-X.*no dependency trees"):
        advise(other, {"Latin-X": latin}, table)
    with pytest.raises(PetraError, match="no candidate source"):
        advise(other, {}, table)
    # the same target with trees is comparable on structure: ranked, with a note on the missing script
    treed = describe("Glyph-Y", _sentences([["ᚠᚢᚦ", "ᚨᚱᚲ"], ["ᚷᚹ", "ᚺᚾᛁ"]] * 20, "Glyph-Y", True), 40, None)
    advice = advise(treed, {"Latin-X": latin}, table)
    assert list(advice.ranking["source"]) == ["Latin-X"] and advice.ranking["usable"].all()
    low, mid, high = advice.ranking.loc[0, ["predicted_low", "predicted", "predicted_high"]]
    assert low < mid < high


needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")


@needs_ud
def test_petra_advise_ranks_real_sources_for_a_treebank_and_for_a_conllu_file_outside_ud(tmp_path):
    """The shipped matrix, every treebank of ../shared as a candidate: Wolof by name, then Wolof's
    sentences as a user's own file elsewhere (no UD folder, no URIEL name): the same candidates, the
    same structure distances (its test split is profiled too), URIEL left out and said so."""
    from typer.testing import CliRunner

    from petra.cli import app
    from petra.data.ud import find_treebank, write_conllu

    runner = CliRunner()
    by_name = runner.invoke(app, ["advise", "Wolof-WTB", "--data-dir", str(SHARED), "-o", str(tmp_path / "a")],
                            terminal_width=200)
    assert by_name.exit_code == 0, by_name.output
    ranking = pd.read_csv(tmp_path / "a" / "advice.csv")
    assert "Wolof-WTB" not in set(ranking["source"]) and len(ranking) >= 20
    assert ranking["rank"].tolist() == list(range(1, len(ranking) + 1))
    assert (ranking["predicted_low"] < ranking["predicted"]).all() and ranking["uriel.syntactic"].notna().any()
    assert ranking["usable"].all() and ranking["score"].is_monotonic_decreasing  # every treebank has trees
    assert ranking.loc[ranking["source"] == "Persian-Seraji", "script_overlap"].item() < 0.1  # Arabic script
    assert ranking.loc[ranking["source"] == "French-GSD", "script_overlap"].item() > 0.9
    assert (tmp_path / "a" / "advice.html").read_text().count("<img") == 1
    assert "no evidence" in by_name.output and "Transfer to Wolof-WTB from:" in by_name.output

    bank = find_treebank("Wolof-WTB", SHARED)
    own = tmp_path / "mine" / "wolof.conllu"
    own.parent.mkdir()
    write_conllu([s for split in ("train", "dev", "test") for s in bank.read(split)], own)
    by_file = runner.invoke(app, ["advise", "--conllu", str(own), "--data-dir", str(SHARED), "-o", str(tmp_path / "b")],
                            terminal_width=200)
    assert by_file.exit_code == 0, by_file.output
    mine = pd.read_csv(tmp_path / "b" / "advice.csv")
    assert mine["uriel.syntactic"].isna().all() and "URIEL distances are missing" in by_file.output
    # a file is not known to be Wolof-WTB: that treebank is a candidate too, the one sharing most words
    assert set(mine["source"]) == set(ranking["source"]) | {"Wolof-WTB"}
    assert mine.loc[mine["word_overlap"].idxmax(), "source"] == "Wolof-WTB"
    both = ranking.merge(mine, on="source", suffixes=("", "_own"))
    assert np.allclose(both["combined"], both["combined_own"], atol=0.05)  # the same sentences, profiled once more


def test_advise_refuses_a_task_the_matrix_did_not_measure(tmp_path):
    from typer.testing import CliRunner

    from petra.cli import app

    result = CliRunner().invoke(app, ["advise", "Wolof-WTB", "--task", "parse", "-o", str(tmp_path)])
    assert isinstance(result.exception, PetraError) and "no measured parse transfer" in str(result.exception)
    assert not list(tmp_path.iterdir())  # refused before any work
    for wrong, said in ((["--results", str(tmp_path / "nope")], "not a petra results folder"),
                        (["--ranker", "oracle"], "unknown ranker 'oracle'"), (["--outcome", "gain"], "--outcome must be")):
        result = CliRunner().invoke(app, ["advise", "Wolof-WTB", *wrong, "-o", str(tmp_path / "out")])
        assert isinstance(result.exception, PetraError) and said in str(result.exception)
    assert not (tmp_path / "out").exists()
