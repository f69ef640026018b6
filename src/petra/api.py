"""petra from Python (a notebook, a script): run a transfer experiment and read a results folder
through the same engine and writers as ``petra run`` — the command line is a thin layer on this.

    import petra
    results = petra.run("configs/ud_lowres.yaml", data_dir="../shared/data", seeds=[0])
    results.summary            # one row per (source, target, PE, recipe, k), with the claim column
    petra.load_results("runs/ud_lowres").runs
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from petra.config import config_to_dict, load_config, parse_config
from petra.experiments.transfer_config import Config
from petra.errors import PetraError


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
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    return parse_config(data, "petra.run", Config)


def precision_warning(cfg: Config) -> str | None:
    """Said before training when the config's bf16 would be emulated on this CPU (about 8x slower)."""
    from petra.device import precision_warning as warning

    return warning(cfg.run.device, [cfg.pretrain.precision, cfg.finetune.precision])


def run(config: str | Path | dict | Config, *, data_dir: str | Path | None = None, executor=None,
        on_unit_done: Callable[[str, int], None] | None = None, **overrides: Any) -> Results:
    """Run (or resume) a transfer experiment, write its results folder and report, return its tables.
    ``overrides``: config sections, e.g. ``seeds=[0]``, ``finetune={"shots": [0, 10]}``."""
    from petra.experiments import transfer
    from petra.experiments.transfer_outputs import write_outputs
    from petra.results.writer import prepare_output_dir
    from petra.results.coverage import coverage_warnings
    from petra.results.report import write_report
    from petra.results.store import ResultStore
    from petra.results.tracking import Trackers

    cfg = _config(config, overrides)
    out = prepare_output_dir(cfg.run.output_dir)
    trackers = Trackers(cfg.run.report_to, out, cfg.name)  # a missing package fails here, before any training
    start = time.perf_counter()
    found = transfer.run(cfg, ResultStore(out / "store"), on_unit_done, executor, data_dir, trackers)
    if found.runs.empty:
        raise PetraError(f"no unit finished: {'; '.join(found.failures)}")
    outputs = write_outputs(out, cfg, found, time.perf_counter() - start)
    notes = [n for n in [precision_warning(cfg)] if n] + trackers.failures + _link_distances(out, data_dir)
    write_report(out)
    return Results(out, outputs.runs, outputs.summary, found.skipped, found.failures, found.missing, notes,
                   coverage_warnings(out), outputs.across, outputs.replication)


def _link_distances(out: Path, data_dir: str | Path | None) -> list[str]:
    """Distance of each (source, target) pair and its gain (what `petra transfer-link` writes), for
    the report; the results are already written, so a language that cannot be profiled only costs
    this section (and a note saying so)."""
    from petra.metrics.transfer_link import write_link

    try:
        write_link(out, out, str(data_dir) if data_dir else None)
    except PetraError as exc:
        return [f"distance vs gain not computed: {exc}"]
    return []


def load_results(directory: str | Path) -> Results:
    """The tables of a results folder written by `petra run`, `petra demo` or :func:`run`."""
    from petra.results.coverage import coverage_warnings
    from petra.results.replication import replication_seeds, summarise
    from petra.results.report import load_run

    found = load_run(Path(directory))
    tables = summarise(found.runs, found.scores, replication_seeds(Path(directory)))
    return Results(Path(directory), found.runs, tables.summary, warnings=coverage_warnings(Path(directory)),
                   across=tables.across, replication=tables.replication)
