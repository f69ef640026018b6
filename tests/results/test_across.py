"""The verdict across targets read from runs and per-sentence scores: a PE ahead on every language is
ahead across them, one that helps half and hurts half depends on the language (named), and the
sentences open the report."""

import numpy as np
import pandas as pd

from petra.results.across import across_lines, across_table
from petra.results.claims import by_seed
from petra.results.summary import summary_frame

SENTENCES = 300


def _runs(p: dict[tuple[str, str], float], seeds: int = 3, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """{(target, encoding): accuracy}: per seed, sentences right with that probability."""
    rng = np.random.default_rng(seed)
    runs, scores = [], []
    for (target, encoding), q in p.items():
        for s in range(seeds):
            right = (rng.random(SENTENCES) < q).astype(int)
            base = {"source": "src", "encoding": encoding, "seed": s, "target": target, "recipe": "full", "shots": 100}
            runs.append({**base, "accuracy": right.mean(), "scratch_accuracy": 0.3, "zero_shot_accuracy": 0.2,
                         "source_accuracy": 0.9, "test_sentences": SENTENCES})
            scores.append({**base, "sentence": list(range(SENTENCES)), "correct": right.tolist(), "total": [1] * SENTENCES})
    return pd.DataFrame(runs), pd.DataFrame(scores)


def _table(p):
    runs, scores = _runs(p)
    return across_table(summary_frame(runs), runs, by_seed(scores))


def test_ahead_on_every_language_is_ahead_across_them():
    table = _table({(t, e): q for t in ("a", "b", "c", "d") for e, q in (("rope", 0.8), ("sinusoidal", 0.6))})
    (row,) = table.to_dict(orient="records")
    assert (row["factor"], row["a"], row["b"], row["verdict"], row["wins"]) == ("PE", "rope", "sinusoidal", "ahead", 4)
    assert 0 < row["ci_low"] < row["mean"] < row["ci_high"] and abs(row["mean"] - 0.2) < 0.03
    (line,) = across_lines(table)
    assert line.startswith("PE across 4 targets, k = 100 (full, from src): rope ahead of sinusoidal across targets (+0.")


def test_helping_half_and_hurting_half_depends_on_the_language():
    p = {("up1", "rope"): 0.8, ("up1", "alibi"): 0.6, ("up2", "rope"): 0.8, ("up2", "alibi"): 0.6,
         ("down1", "rope"): 0.6, ("down1", "alibi"): 0.8, ("down2", "rope"): 0.6, ("down2", "alibi"): 0.8}
    (row,) = _table(p).to_dict(orient="records")
    assert row["verdict"] == "depends on the language" and (row["wins"], row["losses"]) == (2, 2)
    assert {row["a"], row["b"]} == {"rope", "alibi"}
    assert {row["ahead_on"], row["behind_on"]} == {"up1, up2", "down1, down2"}
    (line,) = across_lines(_table(p))
    assert "it depends on the language" in line and "up1, up2" in line and "down1, down2" in line


def test_the_same_model_twice_is_no_comparison_and_one_target_is_left_to_its_claim():
    runs, scores = _runs({(t, "rope"): 0.7 for t in ("a", "b")})
    twin = runs.assign(recipe="frozen_pe")
    both = pd.concat([runs, twin], ignore_index=True)
    assert across_table(summary_frame(both), both, by_seed(pd.concat([scores, scores.assign(recipe="frozen_pe")]))).empty
    one = _runs({("a", "rope"): 0.8, ("a", "sinusoidal"): 0.6})[0]
    assert across_table(summary_frame(one), one, {}).empty


def test_the_report_opens_with_the_answer_then_the_grid(tmp_path):
    from petra.results.report import write_report

    runs, scores = _runs({(t, e): q for t in ("a", "b", "c", "d") for e, q in (("rope", 0.8), ("sinusoidal", 0.6))})
    runs.assign(zero_shot_accuracy=0.2, pretrain_seconds=1.0, finetune_seconds=1.0).to_csv(tmp_path / "runs.csv", index=False)
    scores.to_parquet(tmp_path / "scores.parquet", index=False)
    page = write_report(tmp_path)[0].read_text()
    order = [page.index(x) for x in ("Across targets", "<h2>Per target and k</h2>", "Each (target, k) in words", "Summary table")]
    assert order == sorted(order)
    assert "rope ahead of sinusoidal across targets" in page
    assert page.count("background:#d4edda") == 4  # rope is the best of each target's cell


def test_a_pe_difference_that_grows_with_distance_to_the_source_is_said_to_move():
    from petra.results.across import distance_lines, distance_table

    targets = [f"t{i}" for i in range(6)]
    p = {}
    for i, t in enumerate(targets):  # rope's lead grows from 0 to 0.25 as the target gets farther
        p[(t, "rope")], p[(t, "sinusoidal")] = 0.55 + 0.05 * i, 0.55
    runs, scores = _runs(p)
    table = across_table(summary_frame(runs), runs, by_seed(scores))
    links = pd.DataFrame({"source": "src", "target": targets, "word_order.js": [0.1 * i for i in range(6)]})
    (row,) = distance_table(table, links).to_dict(orient="records")
    assert row["moves"] and row["ci_low"] > 0 and abs(row["slope"] - 0.5) < 0.2
    assert distance_lines(distance_table(table, links))[0].endswith("it moves with the distance")
    assert distance_table(table, None).empty


def test_one_seed_per_target_is_said():
    p = {(t, e): q for t in ("a", "b", "c") for e, q in (("rope", 0.8), ("sinusoidal", 0.6))}
    runs, scores = _runs(p, seeds=1)
    (row,) = across_table(summary_frame(runs), runs, by_seed(scores)).to_dict(orient="records")
    assert row["seeds"] == 1
    assert "one seed per target" in across_lines(pd.DataFrame([row]))[0]
    assert "one seed" not in across_lines(_table(p))[0]
