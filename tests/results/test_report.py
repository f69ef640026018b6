"""The report is built from a results folder alone and says what the numbers say."""

import pandas as pd
import pytest

from petra.errors import PetraError
from petra.results.report import write_report
from petra.results.summary import summary_frame


def fake_runs(gains):
    """Runs whose gain per seed is given: accuracy = 0.5 + gain, scratch = 0.5."""
    rows = []
    for encoding, per_seed in gains.items():
        for seed, gain in enumerate(per_seed):
            rows.append(dict(source="svo", encoding=encoding, seed=seed, target="sov", recipe="full", shots=100,
                             accuracy=0.5 + gain, test_sentences=500,
                             scratch_accuracy=0.5, zero_shot_accuracy=0.3, source_accuracy=0.9, pretrain_seconds=1.0,
                             finetune_seconds=0.5, steps_to_95=10, loss_volatility=0.1,
                             pe_drift=0.05 if encoding == "learned" else None, pe_cosine_change=None, cka=0.9,
                             gain=gain))
    return pd.DataFrame(rows)


def test_report_flags_negative_transfer_and_embeds_figures(tmp_path):
    runs = fake_runs({"learned": [-0.10, -0.12, -0.11], "rope": [0.10, 0.12, 0.08]})
    runs.to_csv(tmp_path / "runs.csv", index=False)
    html_path, md_path = write_report(tmp_path)
    page = html_path.read_text()
    assert "Negative transfer" in page and "learned + full on sov (k = 100)" in page
    assert page.count("data:image/png;base64,") >= 2  # accuracy + drift figures, self-contained
    # no per-sentence scores in this folder: the paired difference is over seeds alone
    assert "best is rope + full, ahead of learned + full (difference +0.210" in page and "reliably above scratch" in page
    markdown = md_path.read_text()
    assert "| sov | learned | full | 100 | 3 | 0.390 |" in markdown  # the table row, mean accuracy 0.5 - 0.11
    assert "](report_files/figure0.png)" in markdown and (tmp_path / "report_files" / "figure0.png").is_file()


def test_summary_alarm_uses_the_ci_not_the_mean():
    summary = summary_frame(fake_runs({"learned": [-0.3, 0.25, 0.02], "rope": [-0.05, -0.06, -0.04]}))
    flags = dict(zip(summary["encoding"], summary["negative_transfer"]))
    assert flags == {"learned": False, "rope": True}


def test_report_on_a_folder_without_results(tmp_path):
    with pytest.raises(PetraError, match="not a petra results folder"):
        write_report(tmp_path)


def test_report_on_results_of_another_layout_names_the_columns(tmp_path):
    fake_runs({"rope": [0.1]}).drop(columns=["recipe", "zero_shot_accuracy"]).to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(PetraError, match="has no recipe, zero_shot_accuracy column"):
        write_report(tmp_path)


def test_petra_report_rebuilds_the_report_of_a_run_folder(tmp_path):
    """`petra report RESULTS` on what `petra run` wrote: the same headline and table, written again."""
    import subprocess
    import sys

    import petra

    out = tmp_path / "r"
    config = {"encodings": ["sinusoidal", "rope"], "seeds": [0, 1], "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
              "data": {"source_train": 150, "test": 60}, "pretrain": {"epochs": 2, "batch_size": 16},
              "finetune": {"shots": [0, 20], "epochs": 2, "batch_size": 8, "curve_points": 0},
              "run": {"output_dir": str(out), "workers": 1}}
    petra.run(config)
    written = (out / "report.md").read_text()
    for name in ("report.html", "report.md"):
        (out / name).unlink()
    result = subprocess.run([sys.executable, "-m", "petra", "report", str(out)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "report.md").read_text() == written  # a report is a function of the results folder
    page = (out / "report.html").read_text()
    assert "Sample efficiency: accuracy against k" in page and page.count("data:image/png;base64,") >= 2
    missing = subprocess.run([sys.executable, "-m", "petra", "report", str(tmp_path / "nothing")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "not a petra results folder" in missing.stderr
