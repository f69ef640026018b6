"""The transfer experiment, for any language source: pretrain on the source (and the mix), then
for each low-resource target: zero-shot, and for each k in ``finetune.shots`` every recipe on k
target sentences beside the same k sentences trained from scratch with the same budget.

Units (encoding, seed; petra.experiments.unit) are independent, so they run in parallel processes
(petra.experiments.executors); results do not depend on the worker count. A job is a group of a
PE's seeds: one unit, or with ``run.ensemble`` several side by side whose training phases batch
(petra.experiments.lockstep). Each finished unit is stored at once (petra.results.store), its kept
models pruned, and it is logged to the trackers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import pandas as pd

from petra.config import config_to_dict
from petra.experiments.transfer_config import Config
from petra.experiments.executors import Failure, LocalExecutor, local_executor
from petra.experiments.transfer_data import TransferData, missing_cells, prepare_data, tokenizer_key
from petra.device import prepare_unit, uses_cuda
from petra.experiments.lockstep import Lockstep, group_size
from petra.experiments.records import UnitResult
from petra.experiments.unit import UnitRunner
from petra.results.kept_models import MODELS, keep_best
from petra.results.store import ResultStore
from petra.results.tracking import Trackers, tracked_unit


def units(config: Config) -> list[tuple[str, int]]:
    return [(e, s) for e in config.encodings for s in config.all_seeds]


def trackers(config: Config, directory: Path) -> Trackers:
    """The run's trackers (``run.report_to``) writing under the results folder ``directory``; a missing
    package fails here, before any training."""
    return Trackers(config.run.report_to, directory, config.name)


def unit_keys(config: Config) -> dict[tuple[str, int], str]:
    """Each unit's store key: the resolved config minus what names or schedules runs."""
    return {(e, s): config.unit_key(encoding=e, seed=s) for e, s in units(config)}


@dataclass(frozen=True)
class TransferResults:
    runs: pd.DataFrame
    curves: pd.DataFrame
    scores: pd.DataFrame  # per run record: test rows, labels right, labels scored (paired comparisons)
    reused: int  # units found finished in the store
    failures: list[str] = field(default_factory=list)  # units that failed every retry
    missing: list[str] = field(default_factory=list)  # (target, k) cells a target's pool is too small for
    data: TransferData | None = None  # None when every unit came from the store
    notes: list[str] = field(default_factory=list)  # what could not be done beside (a tracker that failed to log)
    resumed: list[str] = field(default_factory=list)  # per unit a killed attempt left work for: what it reused
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)  # per unit and part: wall seconds (petra.timing)
    preparation_seconds: float = 0.0  # reading, tokenizing and encoding every language, before any unit
    idle_seconds: float = 0.0  # local workers' time outside units (start-up, the idle tail); 0 when not known


def unit_groups(pending: list[tuple[str, int]], size: int) -> list[tuple[str, list[int]]]:
    """The pending units as groups of up to ``size`` seeds of one encoding (run.ensemble), in order."""
    seeds: dict[str, list[int]] = {}
    for encoding, seed in pending:
        seeds.setdefault(encoding, []).append(seed)
    return [(e, s[i:i + size]) for e, s in seeds.items() for i in range(0, len(s), size)]


def run_group(config: Config, data: TransferData, encoding: str, seeds: list[int],
              works: list[Path | None] | None = None, models: list[Path | None] | None = None) -> list[UnitResult]:
    """The units (``encoding``, seed) of one group: one alone, several side by side with their training
    phases batched (run.ensemble; petra.experiments.lockstep), each with its own work and models folder."""
    device = prepare_unit(config.run.threads, config.run.device)
    works, models = works or [None] * len(seeds), models or [None] * len(seeds)
    if len(seeds) == 1:
        return [UnitRunner(config, data, encoding, seeds[0], works[0], device, models[0]).run()]

    def unit(seed: int, work: Path | None, kept: Path | None):
        runner = UnitRunner(config, data, encoding, seed, work, device, kept)
        group.attach(runner.time)
        return runner.run()

    group = Lockstep([lambda s=s, w=w, m=m: unit(s, w, m) for s, w, m in zip(seeds, works, models)])
    return group.run()


def _stored(config: Config, store: ResultStore, keys: dict, trackers: Trackers | None, on_unit_done, encoding: str,
            seed: int, result, resumed: list[str]) -> None:
    """A finished unit kept in the store at once (then its models pruned, and it logged to the trackers)."""
    if result.resumed:
        resumed.append(f"{encoding} seed {seed}: {result.resumed}")
    records = pd.DataFrame([r.row() for r in result.records])
    profile = pd.DataFrame({"part": list(result.profile), "seconds": list(result.profile.values())})
    store.put(keys[(encoding, seed)], records, pd.DataFrame(result.curves), pd.DataFrame(result.scores), profile)
    if config.run.keep_models == "best":
        keep_best(store.root, keys.values())
    if trackers is not None:
        trackers.log(tracked_unit(config_to_dict(config), encoding, seed, result.records, result.curves))
    if on_unit_done is not None:
        on_unit_done(encoding, seed)


def run(
    config: Config, store: ResultStore, on_unit_done: Callable[[str, int], None] | None = None, executor=None,
    data_dir: str | Path | None = None, trackers: Trackers | None = None,
) -> TransferResults:
    """Every (encoding, seed) unit not yet in ``store``; each is stored the moment it finishes (then
    logged to ``trackers``). ``executor`` defaults to a local pool of ``config.run.workers`` processes."""
    keys = unit_keys(config)
    pending = [unit for unit, key in keys.items() if not store.has(key)]
    for unit in keys:
        if unit not in pending and on_unit_done is not None:
            on_unit_done(*unit)
    failures, missing, data, resumed, preparation, idle = [], [], None, [], 0.0, 0.0
    if pending:
        start = perf_counter()
        data = prepare_data(config, data_dir, store.shared_dir(f"tokenizer-{tokenizer_key(config)}"))
        preparation = perf_counter() - start
        missing = missing_cells(config, data)
        keep = config.run.keep_models
        groups = unit_groups(pending, group_size(config.run.ensemble, uses_cuda(config.run.device)))
        if executor is None:
            executor = local_executor(config.run.workers, len(groups))
        jobs = [(config, data, e, seeds, [store.work_dir(keys[(e, s)]) for s in seeds],
                 [None if keep == "none" else store.root / MODELS / keys[(e, s)] for s in seeds]) for e, seeds in groups]
        started, worked = perf_counter(), 0.0
        for index, outcome in executor.map(run_group, jobs):
            encoding, seeds = groups[index]
            if isinstance(outcome, Failure):
                failures += [f"{encoding} seed {seed}: {outcome.error}" for seed in seeds]
                continue
            for seed, result in zip(seeds, outcome):
                worked += sum(result.profile.values())
                _stored(config, store, keys, trackers, on_unit_done, encoding, seed, result, resumed)
        if isinstance(executor, LocalExecutor) and not failures:
            # the local workers' time no unit accounts for: their start-up, and waiting at the end for the last units
            idle = max(0.0, max(1, executor.workers) * (perf_counter() - started) - worked)
    runs = store.records(keys.values())
    if not runs.empty:
        runs["gain"] = runs["accuracy"] - runs["scratch_accuracy"]
    return TransferResults(runs, store.curves(keys.values()), store.scores(keys.values()), len(keys) - len(pending),
                           failures, missing, data, list(trackers.failures) if trackers is not None else [], resumed,
                           store.profiles(keys.values()), preparation, idle)
