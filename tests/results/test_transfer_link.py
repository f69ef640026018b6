"""Distance vs transfer: Spearman with bootstrap CIs, per-language outcomes, results folders of
synthetic and UD sweeps, and the command."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from petra.cli import app
from petra.config import config_to_dict, parse_config
from petra.errors import PetraError
from petra.metrics.transfer_link import per_pair, spearman_ci
from petra.results.transfer_link import folder_link

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")


def test_spearman_ci_on_monotone_independent_and_degenerate_data():
    x = np.arange(8.0)
    perfect = spearman_ci(x, -x**3)
    assert perfect.rho == pytest.approx(-1.0) and perfect.ci_low == perfect.ci_high == pytest.approx(-1.0)
    rng = np.random.default_rng(1)
    noise = spearman_ci(rng.normal(size=40), rng.normal(size=40))
    assert noise.ci_low < 0 < noise.ci_high and noise.resamples_used == 2000
    assert np.isnan(spearman_ci([1, 2], [3, 4]).rho)  # two languages: no correlation to speak of
    assert np.isnan(spearman_ci([1, 1, 1], [3, 4, 5]).rho)
    with_nan = spearman_ci([1, 2, np.nan, 4, 5], [5, 4, 3, 2, 1])
    assert with_nan.n == 4 and with_nan.rho == pytest.approx(-1.0)


def test_per_pair_gain_and_seed_variance():
    runs = pd.DataFrame({
        "target": ["t"] * 4, "seed": [0, 1, 0, 1], "encoding": ["a", "a", "b", "b"], "recipe": ["full"] * 4,
        "accuracy": [0.5, 0.7, 0.4, 0.4], "scratch_accuracy": [0.3, 0.3, 0.3, 0.3],
    })
    runs["gain"] = runs["accuracy"] - runs["scratch_accuracy"]
    row = per_pair(runs).iloc[0]
    # per seed: mean gain over encodings = (0.2+0.1)/2, (0.4+0.1)/2 -> 0.15, 0.25
    assert row["seeds"] == 2 and row["gain_mean"] == pytest.approx(0.2)
    assert row["gain_std"] == pytest.approx(np.std([0.15, 0.25], ddof=1))
    assert row["seed_variance"] == pytest.approx((np.var([0.5, 0.7], ddof=1) + 0.0) / 2)


def _write_results(folder: Path, config: dict, gains: dict[str, float], seeds=(0, 1, 2)) -> Path:
    """A results folder as `petra run` writes it, with made-up accuracies (gain[target] ± 0.01)."""
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [
        {"encoding": "rope", "seed": s, "target": t, "recipe": "full", "shots": 100, "accuracy": 0.3 + g + 0.01 * (s - 1),
         "scratch_accuracy": 0.3, "zero_shot_accuracy": 0.25, "source_accuracy": 0.9}
        for t, g in gains.items() for s in seeds
    ]
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    return folder


def _synthetic_config(orders: dict[str, str]) -> dict:
    targets = [{"name": name, "word_order": order, "shared_vocab": 0.5} for name, order in orders.items()]
    return config_to_dict(parse_config({"data": {"source": {"name": "svo"}, "targets": targets}}))


def test_synthetic_results_word_order_distance_ranks_the_gains(tmp_path):
    orders = {"t_svo": "SVO", "t_sov": "SOV", "t_osv": "OSV", "t_ovs": "OVS"}
    results = _write_results(tmp_path / "r", _synthetic_config(orders),
                             {"t_svo": 0.3, "t_sov": 0.2, "t_osv": 0.1, "t_ovs": 0.0})
    result = folder_link(results)
    assert result.source == "svo"
    table = result.languages.set_index("target")
    assert table.loc["t_osv", "word_order.wasserstein"] == pytest.approx(2 / 3)
    assert table.loc["t_svo", "gain_std"] == pytest.approx(0.01)
    assert not any(c.startswith("uriel.") for c in table.columns)  # synthetic: no URIEL
    rows = result.correlations.set_index(["distance", "outcome"])
    row = rows.loc[("word_order.wasserstein", "gain")]
    assert row["pairs"] == 4 and row["rho"] == pytest.approx(-1.0)
    assert rows.loc[("word_order.wasserstein", "zero_shot"), "pairs"] == 4


def test_unknown_targets_and_missing_files_are_named(tmp_path):
    results = _write_results(tmp_path / "r", _synthetic_config({"a": "SOV"}), {"b": 0.1})
    with pytest.raises(PetraError, match=r"target\(s\) \['b'\] are not languages of config.yaml"):
        folder_link(results)
    with pytest.raises(PetraError, match="no runs.csv"):
        folder_link(tmp_path)
    with pytest.raises(PetraError, match="no runs left"):
        folder_link(results, encodings=["alibi"])


def test_cli_writes_tables_and_plot(tmp_path):
    orders = {"t_svo": "SVO", "t_vso": "VSO", "t_vos": "VOS"}
    results = _write_results(tmp_path / "r", _synthetic_config(orders), {"t_svo": 0.3, "t_vso": 0.2, "t_vos": 0.1})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["transfer-link", str(results), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Spearman" in result.output and "word_order.wasserstein" in result.output
    assert {p.name for p in out.iterdir()} == {"transfer_link.csv", "transfer_link_languages.csv", "distance_vs_gain.png"}
    assert len(pd.read_csv(out / "transfer_link_languages.csv")) == 3


def _write_ud_results(folder: Path, source: str, gains: dict[str, float | None]) -> Path:
    """`petra run` layout with treebank languages: a row per (encoding, seed, target, recipe, k);
    k = 0 is zero-shot with NaN scratch; a test-only target (gain None) has zero-shot rows only."""
    folder.mkdir()
    data = {"source": {"treebank": source}, "targets": [{"treebank": t} for t in gains]}
    (folder / "config.yaml").write_text(yaml.safe_dump({"name": "ud", "task": {"type": "token"}, "data": data}))
    rows = []
    for target, gain in gains.items():
        for seed in (0, 1, 2):
            base = {"encoding": "rope", "seed": seed, "target": target, "zero_shot_accuracy": 0.5 + (gain or 0.0),
                    "source_accuracy": 0.9}
            rows.append({**base, "recipe": "zero_shot", "shots": 0, "accuracy": 0.5 + (gain or 0.0),
                         "scratch_accuracy": float("nan")})
            for k, scale in ((10, 1.0), (100, 0.5)):
                if gain is not None:
                    rows.append({**base, "recipe": "full", "shots": k, "accuracy": 0.4 + scale * gain + 0.01 * seed,
                                 "scratch_accuracy": 0.4})
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    return folder


def test_ud_layout_gain_at_one_k_and_zero_shot_for_every_target(tmp_path):
    runs = pd.read_csv(_write_ud_results(tmp_path / "r", "X", {"a": 0.2, "b": None}) / "runs.csv")
    runs["gain"] = runs["accuracy"] - runs["scratch_accuracy"]
    table = per_pair(runs).set_index("target")
    assert table.loc["a", "gain_mean"] == pytest.approx(0.21)  # k = 10, the smallest k > 0
    assert per_pair(runs, shots=100).set_index("target").loc["a", "gain_mean"] == pytest.approx(0.11)
    assert np.isnan(table.loc["b", "gain_mean"]) and table.loc["b", "seeds"] == 0
    assert table.loc["b", "zero_shot_mean"] == pytest.approx(0.5)
    with pytest.raises(PetraError, match=r"no 7-shot runs"):
        per_pair(runs, shots=7)


@needs_ud
def test_ud_results_use_treebank_names_and_uriel(tmp_path):
    gains = {"Arabic-PUD": None, "German-GSD": 0.2, "Japanese-GSD": 0.05, "Wolof-WTB": 0.25, "Tagalog-TRG": None}
    result = folder_link(_write_ud_results(tmp_path / "r", "Irish-IDT", gains), data_dir=str(SHARED))
    assert result.source == "Irish-IDT"
    table = result.languages.set_index("target")
    assert set(table.index) == set(gains)
    assert table.loc["Arabic-PUD", "uriel.syntactic"] < table.loc["Japanese-GSD", "uriel.syntactic"]
    assert table.loc["Arabic-PUD", "word_order.wasserstein"] < table.loc["Japanese-GSD", "word_order.wasserstein"]
    rows = result.correlations.set_index(["distance", "outcome"])
    assert rows.loc[("combined", "gain"), "pairs"] == 3  # test-only targets have no gain
    assert rows.loc[("combined", "zero_shot"), "pairs"] == 5
    assert result.correlations["distance"].str.startswith("uriel.").sum() == 6 * 3  # x three outcomes


@pytest.mark.slow
def test_link_on_a_real_demo_run(tmp_path):
    out = tmp_path / "demo"
    assert CliRunner().invoke(app, ["demo", "--quick", "-o", str(out)]).exit_code == 0
    result = folder_link(out)
    assert set(result.languages["target"]) == {"sov", "vso"}
    assert result.correlations["rho"].isna().all()  # two targets: Spearman undefined, reported as such


def test_two_sources_give_one_point_per_source_target_pair(tmp_path):
    """Which source transfers best? Each (source, target) pair is a point with its own distance."""
    targets = [{"name": "t_svo", "word_order": "SVO"}, {"name": "t_sov", "word_order": "SOV"}]
    config = config_to_dict(parse_config({"data": {"source": [{"name": "svo"}, {"name": "sov", "word_order": "SOV"}],
                                                   "targets": targets}}))
    gains = {("svo", "t_svo"): 0.3, ("svo", "t_sov"): 0.1, ("sov", "t_svo"): 0.1, ("sov", "t_sov"): 0.3}
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    pd.DataFrame([{"source": s, "encoding": "rope", "seed": seed, "target": t, "recipe": "full", "shots": 100,
                   "accuracy": 0.3 + g + 0.01 * seed, "scratch_accuracy": 0.3, "zero_shot_accuracy": 0.25,
                   "source_accuracy": 0.9} for (s, t), g in gains.items() for seed in (0, 1, 2)]).to_csv(
        folder / "runs.csv", index=False)
    result = folder_link(folder)
    table = result.languages.set_index(["source", "target"])
    assert len(table) == 4 and result.source == "svo, sov"
    # the same word order is closer than a different one, from either source
    assert table.loc[("sov", "t_sov"), "word_order.wasserstein"] < table.loc[("sov", "t_svo"), "word_order.wasserstein"]
    row = result.correlations.set_index(["distance", "outcome"]).loc[("word_order.wasserstein", "gain")]
    assert row["pairs"] == 4 and row["rho"] < -0.8
