"""The results folder of a run: resolved config, per-run metrics, summary table, plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from petra.config import Config, config_to_dict
from petra.errors import PetraError
from petra.experiments.transfer import RunRecord
from petra.results.plots import plot_accuracy
from petra.results.summary import records_frame, summary_frame


@dataclass(frozen=True)
class RunOutputs:
    directory: Path
    runs: pd.DataFrame
    summary: pd.DataFrame


def prepare_output_dir(path: Path) -> Path:
    """Create the folder up front so an unwritable location fails before any training."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise PetraError(f"results folder {path} is not writable: {exc.strerror}") from None
    return path


def write_outputs(directory: Path, config: Config, records: Sequence[RunRecord], seconds: float) -> RunOutputs:
    runs = records_frame(records)
    summary = summary_frame(runs)
    (directory / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    metrics = {
        "name": config.name,
        "wall_seconds": round(seconds, 2),
        "runs": runs.to_dict(orient="records"),
        "summary": summary.to_dict(orient="records"),
    }
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2))
    runs.to_csv(directory / "runs.csv", index=False)
    summary.to_csv(directory / "summary.csv", index=False)
    plot_accuracy(runs, directory / "accuracy.png")
    return RunOutputs(directory, runs, summary)
