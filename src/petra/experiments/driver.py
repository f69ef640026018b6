"""The one driver of every experiment: config -> executor -> store -> writer, called by the CLI and
the Python API alike. An experiment says what its units are, how they run and how its results are
written (an :class:`Experiment` in :data:`EXPERIMENTS`); the rest is the same for all of them: the
results folder, the store every unit is kept in as it finishes (so a rerun resumes), the wall time,
and the refusal to write anything when no unit finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petra.errors import UnitsFailed
from petra.experiments import (align, align_outputs, bound, bound_outputs, lengthgen, lengthgen_outputs, transfer,
                               transfer_outputs)
from petra.results.store import ResultStore
from petra.results.writer import prepare_output_dir


@dataclass(frozen=True)
class Experiment:
    title: Callable[[Any], str]  # config -> what the progress bar says a unit does
    units: Callable[[Any], list[tuple]]  # config -> its units, in order
    run: Callable[..., Any]  # (config, results folder, on_unit_done, executor, data_dir) -> results (.failures, .reused)
    finished: Callable[[Any], bool]  # results -> whether any unit finished
    write: Callable[..., Any]  # (directory, config, results, seconds, data_dir) -> what the writer returns


def _transfer(config, out: Path, on_unit_done, executor, data_dir):
    trackers = transfer.trackers(config, out)  # a tracker whose package is missing fails here, before anything is made
    return transfer.run(config, ResultStore(out / "store"), on_unit_done, executor, data_dir, trackers)


EXPERIMENTS: dict[str, Experiment] = {
    "transfer": Experiment(
        lambda c: f"{c.name}: pretrain + fine-tune", transfer.units,
        _transfer, lambda r: not r.runs.empty, transfer_outputs.write),
    "lengthgen": Experiment(
        lambda c: f"{c.name}: train {c.train.steps} steps + evaluate 1..{c.test_max_length}", lengthgen.units,
        lambda c, out, done, executor, data_dir: lengthgen.run(c, executor, done, ResultStore(out / "store")),
        lambda r: bool(r.records), lambda out, c, r, seconds, data_dir: lengthgen_outputs.write_outputs(out, c, r, seconds)),
    "bound": Experiment(
        lambda c: f"{c.name}: train + {c.gap.draws} PE draws", bound.units,
        lambda c, out, done, executor, data_dir: bound.run(c, executor, done, ResultStore(out / "store")),
        lambda r: bool(r.records), lambda out, c, r, seconds, data_dir: bound_outputs.write_outputs(out, c, r, seconds)),
    "align": Experiment(
        lambda c: f"{c.name}: two language models + alignment per unit", align.units,
        lambda c, out, done, executor, data_dir: align.run(c, executor, done, ResultStore(out / "store")),
        lambda r: bool(r.records), lambda out, c, r, seconds, data_dir: align_outputs.write_outputs(out, c, r, seconds)),
}


@dataclass(frozen=True)
class Finished:
    directory: Path
    results: Any  # what the experiment's units produced (records, failures, units reused from the store)
    outputs: Any  # what its writer returned (the tables a caller prints)
    seconds: float


def drive(config, executor=None, on_unit_done: Callable[..., None] | None = None,
          data_dir: str | Path | None = None) -> Finished:
    """Run (or resume) ``config``'s experiment: every unit not yet in the results folder's store (``store/``) on
    ``executor`` (default: local processes), then its results written. Raises :class:`UnitsFailed`
    when no unit finished; units that failed beside finished ones are in ``results.failures``."""
    experiment = EXPERIMENTS[config.experiment]
    out = prepare_output_dir(config.run.output_dir)
    start = time.perf_counter()
    results = experiment.run(config, out, on_unit_done, executor, data_dir)
    if not experiment.finished(results):
        raise UnitsFailed(results.failures)
    outputs = experiment.write(out, config, results, time.perf_counter() - start, data_dir)
    return Finished(out, results, outputs, time.perf_counter() - start)
