"""A claim made on some seeds is checked on others: a real lead replicates, a lucky one is shown not to,
and `petra replicate` reruns a finished folder with fresh seeds into the same store."""

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from petra.cli import app
from petra.errors import PetraError
from petra.results.replication import replication_lines, summarise

SENTENCES = 300


def _runs(correct: dict[tuple[str, int], np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and per-sentence scores of one (target, k) cell from {(encoding, seed): correct per sentence}."""
    runs, scores = [], []
    for (encoding, seed), right in correct.items():
        base = {"source": "src", "encoding": encoding, "seed": seed, "target": "t", "recipe": "full", "shots": 100}
        runs.append({**base, "accuracy": right.mean(), "scratch_accuracy": 0.3, "zero_shot_accuracy": 0.2,
                     "source_accuracy": 0.9, "test_sentences": len(right)})
        scores.append({**base, "sentence": list(range(len(right))), "correct": right.tolist(), "total": [1] * len(right)})
    return pd.DataFrame(runs), pd.DataFrame(scores)


def _seeds(rng, p: dict[str, list[float]]) -> dict[tuple[str, int], np.ndarray]:
    """Per encoding, one accuracy per seed (seeds 0, 1, ...): sentences right with that probability."""
    return {(e, s): (rng.random(SENTENCES) < q).astype(int) for e, qs in p.items() for s, q in enumerate(qs)}


def test_a_real_lead_replicates_and_a_lucky_one_is_reversed():
    rng = np.random.default_rng(0)
    real = _seeds(rng, {"rope": [0.8, 0.8, 0.8, 0.8, 0.8, 0.8], "sinusoidal": [0.5] * 6})
    table = summarise(*_runs(real), replicate=[3, 4, 5])
    assert list(table.summary["seeds"]) == [3, 3]  # the claim rests on seeds 0-2 alone
    (row,) = table.replication.to_dict(orient="records")
    assert (row["claim"], row["verdict"], row["again_claim"]) == ("best", "replicated", "best")
    assert row["again_ci_low"] > 0.2 and row["again_seeds"] == 3
    assert list(table.summary["replication"]) == ["best", ""]

    lucky = _seeds(rng, {"rope": [0.8, 0.8, 0.8, 0.5, 0.5, 0.5], "sinusoidal": [0.5, 0.5, 0.5, 0.8, 0.8, 0.8]})
    table = summarise(*_runs(lucky), replicate=[3, 4, 5])
    (row,) = table.replication.to_dict(orient="records")
    assert (row["claim"], row["verdict"], row["again_best"]) == ("best", "reversed", "sinusoidal + full")
    assert row["again_ci_high"] < 0
    lines = replication_lines(table.replication, [3, 4, 5])
    assert lines[0] == "replication with seeds 3, 4, 5, 'best' claims (1): 1 reversed"
    assert lines[1].startswith("not replicated: t k = 100: rope + full ahead of sinusoidal + full by +0.")


def test_a_tie_is_separated_when_new_seeds_find_a_difference():
    rng = np.random.default_rng(1)
    scores = _seeds(rng, {"rope": [0.6] * 3 + [0.9] * 3, "sinusoidal": [0.6] * 6})
    for seed in range(3):  # the same predictions on the claims' seeds: a tie by construction
        scores[("sinusoidal", seed)] = scores[("rope", seed)].copy()
    table = summarise(*_runs(scores), replicate=[3, 4, 5])
    (row,) = table.replication.to_dict(orient="records")
    assert row["claim"] == "tie" and row["verdict"] == "separated"


def test_without_replication_seeds_there_is_no_replication_table():
    rng = np.random.default_rng(2)
    table = summarise(*_runs(_seeds(rng, {"rope": [0.8] * 3, "sinusoidal": [0.5] * 3})))
    assert table.replication.empty and "replication" not in table.summary


CONFIG = """
name: replicate-test
encodings: [learned, rope]
seeds: [0, 1]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1}
data:
  source: {name: svo}
  targets: [{name: sov, word_order: SOV}]
  source_train: 300
  test: 60
pretrain: {epochs: 2, batch_size: 16, warmup_steps: 5}
finetune: {epochs: 3, batch_size: 8, warmup_steps: 2, curve_points: 0, shots: [30]}
run: {workers: 1}
"""


def test_petra_replicate_reruns_with_fresh_seeds_into_the_same_store(tmp_path):
    config, out = tmp_path / "c.yaml", tmp_path / "out"
    config.write_text(CONFIG)
    first = CliRunner().invoke(app, ["run", str(config), "-o", str(out)])
    assert first.exit_code == 0, first.output
    records = {p: p.stat().st_mtime_ns for p in (out / "store" / "records").glob("*.parquet")}
    claimed = pd.read_csv(out / "summary.csv")

    again = CliRunner().invoke(app, ["replicate", str(out), "--seeds", "2,3"])
    assert again.exit_code == 0, again.output
    assert "4 finished unit(s) reused" in again.output and "replication with seeds 2, 3, " in again.output
    assert all(p.stat().st_mtime_ns == t for p, t in records.items())  # the claims' units are not trained again
    assert len(list((out / "store" / "records").glob("*.parquet"))) == 8  # 2 PEs x 4 seeds
    assert sorted(pd.read_csv(out / "runs.csv")["seed"].unique()) == [0, 1, 2, 3]
    summary = pd.read_csv(out / "summary.csv")
    pd.testing.assert_frame_equal(summary.drop(columns="replication"), claimed)  # the claims are unchanged
    replication = pd.read_csv(out / "replication.csv")
    assert len(replication) == 1 and set(replication["verdict"]) <= {"replicated", "same sign", "reversed", "separated"}
    assert "<h2>Replication</h2>" in (out / "report.html").read_text()
    assert "## Replication" in (out / "report.md").read_text()

    import petra
    assert list(petra.load_results(out).replication["verdict"]) == list(replication["verdict"])

    reused = CliRunner().invoke(app, ["replicate", str(out), "--seeds", "1,4"])  # the CLI's entry exits 2 on these
    assert isinstance(reused.exception, PetraError) and "replicate: seeds [1] are in 'seeds' already" in str(reused.exception)
    elsewhere = CliRunner().invoke(app, ["replicate", str(tmp_path), "--seeds", "5"])
    assert "not a petra results folder (no config.yaml)" in str(elsewhere.exception)
