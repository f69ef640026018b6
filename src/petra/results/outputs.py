"""The results folder of a run: resolved config, tokenizer, per-run metrics, summary table, plot."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from petra.config import Config, config_to_dict
from petra.errors import PetraError
from petra.experiments.transfer import TransferResults
from petra.experiments.transfer_data import TransferData
from petra.results.figures import accuracy_with_ci, sample_efficiency, save
from petra.results.arcs import arc_breakdown
from petra.results.claims import claims, marks
from petra.results.summary import summary_frame


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


def provenance(config: Config) -> dict:
    """What the numbers depend on besides the config: library versions and the seed scheme."""
    import platform

    import numpy
    import torch

    import petra

    return {
        "petra": petra.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
        "python": platform.python_version(), "data_seed": config.data.seed, "seeds": list(config.seeds),
        "seed_scheme": "each phase seeds torch/numpy/random with crc32('seed/encoding/[target/]phase')",
        "deterministic_algorithms": True, "threads_per_unit": config.run.threads,
    }


def _json_safe(records: list[dict]) -> list[dict]:
    """NaN is not JSON: write null instead."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in records]


def _in_config_order(runs: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Rows ordered as the config lists PEs, targets, k and recipes (tables and plots follow it)."""
    from petra.experiments.records import ZERO_SHOT

    order = {
        "source": {s.name: i for i, s in enumerate(config.data.sources)},
        "encoding": {e: i for i, e in enumerate(config.encodings)},
        "target": {t.name: i for i, t in enumerate(config.data.targets)},
        "shots": {k: i for i, k in enumerate(config.finetune.shots)},  # 'all' (its k varies) sorts last
        "recipe": {r: i for i, r in enumerate([ZERO_SHOT, *config.finetune.recipes])},
    }
    rank = {column: runs[column].map(ranks) for column, ranks in order.items()}
    by = ["source", "encoding", "seed", "target", "shots", "recipe"]
    rank["shots"] = rank["shots"].fillna(len(config.finetune.shots) + runs["shots"] / (1 + runs["shots"].max()))
    index = pd.DataFrame({**rank, "seed": runs["seed"]}).sort_values(by).index
    return runs.loc[index].reset_index(drop=True)


def target_table(data: TransferData) -> pd.DataFrame:
    """What each target offered: test size, k-shot pool (its largest k; under test folds, what the
    other folds hold), measured word order, truncated test words."""
    return pd.DataFrame([
        {"target": t.name, "test_sentences": len(t.test), "pool_split": t.pool.split or "-", "pool_sentences": t.pool.size,
         "folds": len(t.pool.folds), "dominant_order": t.order or "-", "test_truncated_words": t.truncated_test_words}
        for t in data.targets.values()
    ])


def write_outputs(directory: Path, config: Config, results: TransferResults, seconds: float) -> RunOutputs:
    runs = _in_config_order(results.runs.drop(columns=["key"], errors="ignore"), config)
    summary = summary_frame(runs)
    summary["claim"] = marks(summary, claims(summary, runs, results.scores))
    (directory / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    metrics = {
        "name": config.name,
        "wall_seconds": round(seconds, 2),
        "units_reused_from_store": results.skipped,
        "provenance": provenance(config),
        "runs": _json_safe(runs.to_dict(orient="records")),
        "summary": _json_safe(summary.to_dict(orient="records")),
    }
    if results.data is not None:  # None when every unit came from the store: the files of that run stay
        results.data.tokenizer.save(directory / "tokenizer")
        targets = target_table(results.data)
        targets.to_csv(directory / "targets.csv", index=False)
        metrics.update(data=results.data.stats, targets=targets.to_dict(orient="records"), missing_cells=results.missing)
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2))
    runs.to_csv(directory / "runs.csv", index=False)
    summary.to_csv(directory / "summary.csv", index=False)
    results.curves.drop(columns=["key"], errors="ignore").to_csv(directory / "curves.csv", index=False)
    results.scores.drop(columns=["key"], errors="ignore").to_parquet(directory / "scores.parquet", index=False)
    arcs = arc_breakdown(results.scores)
    if arcs is not None:  # parsing: attachment by arc direction and length
        arcs.to_csv(directory / "arcs.csv", index=False)
    save(accuracy_with_ci(runs, summary), directory / "accuracy.png")
    if runs["shots"].nunique() > 1:
        save(sample_efficiency(summary)[0], directory / "sample_efficiency.png")
    return RunOutputs(directory, runs, summary)
