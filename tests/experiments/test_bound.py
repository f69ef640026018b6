"""`petra bound`: the gap experiment end to end (quick), the explicit PE draws, and the default config."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from petra.config import load_config
from petra.encodings import build_encoding
from petra.errors import PetraError
from petra.encodings.random_gaussian import GaussianDraw
from petra.experiments.bound import BoundConfig

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]
REPO = Path(__file__).resolve().parents[2]


def test_quick_bound_end_to_end(tmp_path):
    out = tmp_path / "bound"
    result = subprocess.run([*PETRA, "bound", "--quick", "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("config.yaml", "draws.csv", "verdicts.csv", "curves.csv", "metrics.json",
                 "tail_vs_bound.png", "tail_vs_bound_per_model.png", "gap_by_pe.png"):
        assert (out / name).is_file(), name
    draws = pd.read_csv(out / "draws.csv")
    config = load_config(out / "config.yaml", schema=BoundConfig)  # the resolved config, saved with the run
    K, seeds = config.gap.draws, len(config.seeds)
    # random_gaussian: K draws per scheme and seed; deterministic PEs are detected and evaluated once.
    rg = draws[draws["encoding"] == "random_gaussian"]
    assert sorted(set(rg["scheme"])) == ["per_example", "shared"]
    assert len(rg) == 2 * K * seeds
    for encoding in ("sinusoidal", "learned"):
        rows = draws[draws["encoding"] == encoding]
        assert set(rows["scheme"]) == {"fixed"} and len(rows) == seeds
    # The draws really differ, the losses respect the bound B, and the gap is their difference.
    assert rg.groupby(["seed", "scheme"])["gap"].nunique().min() > 1
    assert draws[["train_loss", "test_loss"]].min().min() >= 0
    assert draws[["train_loss", "test_loss"]].max().max() <= config.gap.loss_bound
    assert (draws["gap"] - (draws["test_loss"] - draws["train_loss"])).abs().max() < 1e-9
    verdicts = pd.read_csv(out / "verdicts.csv")
    pooled = verdicts[verdicts["seed"] == "all"]
    assert {"random_gaussian"} <= set(pooled["encoding"])
    # each verdict says what its numbers say: violated exactly when the tail's lower band exceeds the bound
    for text, excess in zip(verdicts["seed_bound_on_gap"], verdicts["seed_bound_on_gap_max_excess"]):
        assert text.startswith("holds" if excess <= 0 else "violated"), (text, excess)
    assert "seed bound" in result.stdout


def _encoding(scale: float = 1.0):
    return build_encoding("random_gaussian", dim=8, num_heads=2, max_len=16, options={"scale": scale})


def test_shared_draw_gives_every_example_the_same_vectors():
    draw = GaussianDraw(_encoding(2.0), "shared", seed=3, length=10)
    vectors = draw(draw.positions(4, 10, torch.device("cpu")))
    assert vectors.shape == (4, 10, 8)
    assert torch.equal(vectors[0], vectors[3])
    assert not torch.equal(vectors[0, 0], vectors[0, 1])
    again = GaussianDraw(_encoding(2.0), "shared", seed=3, length=10)
    assert torch.equal(again(again.positions(1, 10, torch.device("cpu")))[0], vectors[0])  # seeded
    assert vectors.std().item() == pytest.approx(2.0, rel=0.25)  # the original's scale


def test_per_example_draw_gives_each_example_its_own_vectors():
    draw = GaussianDraw(_encoding(), "per_example", seed=3, length=10)
    vectors = draw(draw.positions(4, 10, torch.device("cpu")))
    assert vectors.shape == (4, 10, 8)
    assert not torch.equal(vectors[0], vectors[1])


def test_configs_bound_yaml_is_the_default_setting():
    """configs/bound.yaml documents the default that `petra bound` runs without a CONFIG."""
    assert load_config(REPO / "configs" / "bound.yaml", schema=BoundConfig) == BoundConfig()


def test_bad_bound_config_names_the_field(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("gap:\n  draws: 1\n")
    with pytest.raises(PetraError, match=r"bad\.yaml: invalid config field 'gap\.draws'"):
        load_config(config, schema=BoundConfig)
