"""The README's Python API example runs as written, and the API is the CLI's engine."""

import os
import re
from pathlib import Path

import pytest

import petra
from petra.errors import PetraError

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_example() -> str:
    section = README.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_readme_example(), "README.md (Python API)", "exec"), {})
    out = capsys.readouterr().out
    assert "accuracy_mean" in out and "api-demo/report.html" in out
    for name in ("runs.csv", "summary.csv", "scores.parquet", "report.html", "sample_efficiency.png"):
        assert (tmp_path / "runs" / "api-demo" / name).is_file(), name


def test_run_takes_a_mapping_and_resumes_from_the_store(tmp_path):
    config = {"encodings": ["sinusoidal"], "seeds": [0], "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
              "data": {"source_train": 100, "test": 40}, "pretrain": {"epochs": 1, "batch_size": 16},
              "finetune": {"shots": [10], "epochs": 1, "batch_size": 8, "curve_points": 0},
              "run": {"output_dir": str(tmp_path / "r"), "workers": 1}}
    first = petra.run(config)
    again = petra.run(config)
    assert again.skipped == 1 and list(again.runs["accuracy"]) == list(first.runs["accuracy"])
    assert set(first.summary["claim"]) <= {"best", "tie", ""}
    with pytest.raises(PetraError, match=r"petra.run: invalid config field 'finetune': shots must be distinct"):
        petra.run({**config, "run": {"output_dir": str(tmp_path / "bad")}}, finetune={"shots": [-1]})
    assert not os.path.exists(tmp_path / "bad")  # rejected before anything was written


def test_load_results_names_a_folder_that_is_not_one(tmp_path):
    with pytest.raises(PetraError, match="not a petra results folder"):
        petra.load_results(tmp_path)
