"""The one results writer. Every experiment's folder holds its resolved config (``config.yaml``, which
loads back as the same config), ``metrics.json`` (what it measured, with provenance), its tables
(``.csv``, or ``.parquet`` for per-sentence scores) and its figures (``.png``)."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure

from petra.errors import PetraError
from petra.results.figures import save


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


def provenance(config: Any) -> dict:
    """What the numbers depend on besides the config: library versions and the seed scheme."""
    import numpy
    import torch

    from petra.version import __version__

    data = getattr(config, "data", None)
    return {
        "petra": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
        "python": platform.python_version(), "experiment": config.experiment, "seeds": list(config.seeds),
        "replication_seeds": list(getattr(config, "replicate", [])),
        "data_seed": getattr(config, "data_seed", getattr(data, "seed", None)),
        "seed_scheme": "each stage of a unit seeds torch/numpy/random with crc32 of (seed, encoding, [target or "
                       "task,] stage)",
        "deterministic_algorithms": True, "threads_per_unit": getattr(config.run, "threads", None),
    }


def json_safe(value: Any) -> Any:
    """NaN is not JSON: null instead, at any depth."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """A table as JSON rows."""
    return frame.to_dict(orient="records")


def write_results(
    directory: Path, config: Any, metrics: dict[str, Any], tables: dict[str, pd.DataFrame] | None = None,
    figures: dict[str, Figure] | None = None,
) -> Path:
    """``config.yaml``, ``metrics.json`` (``name``, then ``metrics``, then ``provenance``), each table
    under its file name (``runs.csv``, ``scores.parquet``) and each figure (``accuracy.png``)."""
    (directory / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    payload = {"name": config.name, **metrics, "provenance": provenance(config)}
    (directory / "metrics.json").write_text(json.dumps(json_safe(payload), indent=2, default=str))
    for name, frame in (tables or {}).items():
        if name.endswith(".parquet"):
            frame.to_parquet(directory / name, index=False)
        else:
            frame.to_csv(directory / name, index=False)
    for name, figure in (figures or {}).items():
        save(figure, directory / name)
    return directory
