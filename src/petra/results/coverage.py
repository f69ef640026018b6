"""The coverage of a results folder (``coverage.csv``, written from petra.data.coverage): the
warnings the CLI and the report open with when a target's words do not reach the model as words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from petra.data.coverage import warnings

COVERAGE_FILE = "coverage.csv"


def coverage_warnings(directory: Path) -> list[str]:
    """One line per badly covered target of the run in ``directory`` (none when it has no coverage.csv)."""
    path = Path(directory) / COVERAGE_FILE
    if not path.is_file():
        return []
    config_path = Path(directory) / "config.yaml"
    config = yaml.safe_load(config_path.read_text()) if config_path.is_file() else {}
    kind = (config.get("tokenizer") or {}).get("kind")
    return warnings(pd.read_csv(path).to_dict(orient="records"), kind)
