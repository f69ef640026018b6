"""`petra compare A B`: the same experiment run twice is the same in every cell; a setting that
cripples pretraining is shown behind in every zero-shot cell; runs on other test sentences are refused."""

import pytest
from typer.testing import CliRunner

import petra
from petra.cli import app
from petra.errors import PetraError
from petra.results.versus import compare_runs, versus_lines

TINY = {
    "name": "versus", "encodings": ["learned"], "seeds": [0, 1],
    "model": {"dim": 32, "layers": 1, "heads": 2, "ffn_dim": 64}, "task": {"type": "token"},
    "data": {"source": {"name": "svo"}, "targets": [{"name": "sov", "word_order": "SOV"}, {"name": "vso",
             "word_order": "VSO"}], "source_train": 300, "test": 80},
    "pretrain": {"epochs": 3, "batch_size": 16, "lr": 0.003},
    "finetune": {"recipes": ["full"], "shots": [0, 20], "epochs": 2, "batch_size": 8, "curve_points": 0},
}


def _run(tmp_path, name, **sections):
    out = tmp_path / name
    petra.run({**TINY, **sections, "run": {"output_dir": str(out), "workers": 1}})
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("versus")
    return (_run(tmp, "a"), _run(tmp, "again"),
            _run(tmp, "crippled", pretrain={**TINY["pretrain"], "lr": 1e-7}))


def test_the_same_experiment_twice_differs_in_nothing(runs):
    a, again, _ = runs
    found = compare_runs(a, again)
    assert found.differs == {}
    assert len(found.cells) == 2 * 2 and (found.cells["difference"] == 0).all()  # 2 targets x (zero-shot, k = 20)
    assert set(found.across["verdict"]) == {"tie"} and list(found.across["targets"]) == [2, 2]


def test_a_crippled_pretraining_is_behind_in_every_zero_shot_cell(runs, tmp_path):
    a, _, crippled = runs
    found = compare_runs(a, crippled)
    assert found.differs == {"pretrain.lr": (0.003, 1e-7)}
    zero = found.cells[found.cells["shots"] == 0]
    assert len(zero) == 2 and (zero["ci_high"] < 0).all()
    # two targets give the pooled interval t with 1 df (wide); each target says "behind" on its own
    assert any(line.startswith("learned, zero-shot") and "behind on 2" in line for line in versus_lines(found))
    result = CliRunner().invoke(app, ["compare", str(a), str(crippled), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "pretrain.lr: 0.003 -> 1e-07" in result.output
    assert (tmp_path / "compare_cells.csv").is_file() and (tmp_path / "compare_across.csv").is_file()


def test_runs_on_other_test_sentences_are_refused(runs, tmp_path):
    a, _, _ = runs
    other = _run(tmp_path, "other", data={**TINY["data"], "test": 60})
    with pytest.raises(PetraError, match="differ in data.test .80 vs 60.: their test sentences are not the same"):
        compare_runs(a, other)
