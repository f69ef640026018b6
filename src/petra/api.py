"""petra from Python (a notebook, a script): run a transfer experiment and read a results folder
through the same engine and writers as ``petra run`` — the command line is a thin layer on this.

    import petra
    results = petra.run("configs/ud_lowres.yaml", data_dir="../shared/data", seeds=[0])
    results.summary            # one row per (source, target, PE, recipe, k), with the claim column
    petra.load_results("runs/ud_lowres").runs
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from petra.config import config_to_dict, load_config, merge_overrides, parse_config
from petra.experiments.transfer_config import Config


def demo_config() -> Path:
    """The embedded default experiment (`petra demo`)."""
    return Path(str(resources.files("petra") / "configs" / "demo.yaml"))


@dataclass(frozen=True)
class Results:
    """A results folder as tables: ``runs`` (one row per source, PE, seed, target, recipe, k) and
    ``summary`` (over seeds, with CIs, gain, the negative-transfer alarm and the claim column)."""

    directory: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    skipped: int = 0  # units reused from the store
    failures: list[str] = field(default_factory=list)  # units that failed every retry
    missing: list[str] = field(default_factory=list)  # (target, k) cells a pool was too small for
    notes: list[str] = field(default_factory=list)  # what could not be added (e.g. distances of a language)
    warnings: list[str] = field(default_factory=list)  # targets whose words do not reach the model as words
    across: pd.DataFrame = field(default_factory=pd.DataFrame)  # per pair of PEs / recipes / sources: verdict across targets
    replication: pd.DataFrame = field(default_factory=pd.DataFrame)  # per claim: did it hold on the replication seeds
    resumed: list[str] = field(default_factory=list)  # units that took over a killed run's work, and what

    def report(self) -> Path:
        """Write (again) report.html and report.md; the HTML path."""
        from petra.results.report import write_report

        return write_report(self.directory)[0]


def _config(config: str | Path | dict | Config, overrides: dict[str, Any]) -> Config:
    """A validated config from a YAML path, a mapping or a Config; ``overrides`` merge on top
    (top-level sections, shallow per section, as in :func:`petra.config.load_config`)."""
    if isinstance(config, (str, Path)):
        return load_config(config, overrides, Config)
    data = config_to_dict(config) if isinstance(config, Config) else dict(config)
    return parse_config(merge_overrides(data, overrides), "petra.run", Config)


def precision_warning(cfg: Config) -> str | None:
    """Said before training when the config's bf16 would be emulated on this CPU (about 8x slower)."""
    from petra.device import precision_warning as warning

    return warning(cfg.run.device, [cfg.pretrain.precision, cfg.finetune.precision])


def run(config: str | Path | dict | Config, *, data_dir: str | Path | None = None, executor=None,
        on_unit_done: Callable[[str, int], None] | None = None, **overrides: Any) -> Results:
    """Run (or resume) a transfer experiment, write its results folder and report, return its tables.
    ``overrides``: config sections, e.g. ``seeds=[0]``, ``finetune={"shots": [0, 10]}``."""
    from petra.experiments.driver import drive
    from petra.results.coverage import coverage_warnings

    cfg = _config(config, overrides)
    done = drive(cfg, executor, on_unit_done, data_dir)
    found, outputs = done.results, done.outputs
    notes = [n for n in [precision_warning(cfg)] if n] + outputs.notes
    return Results(done.directory, outputs.runs, outputs.summary, found.reused, found.failures, found.missing, notes,
                   coverage_warnings(done.directory), outputs.across, outputs.replication, found.resumed)


def load_results(directory: str | Path) -> Results:
    """The tables of a results folder written by `petra run`, `petra demo` or :func:`run`."""
    from petra.results.coverage import coverage_warnings
    from petra.results.replication import replication_seeds, summarise
    from petra.results.report import load_run

    found = load_run(Path(directory))
    tables = summarise(found.runs, found.scores, replication_seeds(Path(directory)))
    return Results(Path(directory), found.runs, tables.summary, warnings=coverage_warnings(Path(directory)),
                   across=tables.across, replication=tables.replication)
