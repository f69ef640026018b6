"""Experiment tracking: every finished unit of a run logged to TensorBoard, MLflow and/or W&B
(``run.report_to``, the names transformers' ``report_to`` uses).

The parent process logs each unit the moment the store has it, so tracking works the same for a
local pool and a Ray cluster, and a worker never needs the tracker's credentials. One tracked run
per (PE, seed) unit: its parameters (the resolved config, flattened, and the seed), the losses and
evaluation curves of each phase (``<target>/<recipe>/k<k>/<source>/loss``; pretraining under
``pretrain/<source>/loss``) and the final metrics (``final/<target>/<recipe>/k<k>/<source>/accuracy``,
``.../gain``). Units reused from the store were logged when they were trained.
"""

from __future__ import annotations

import logging
import math
import netrc
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from petra.errors import PetraError

INSTALL_HINT = "pip install 'petra[tracking]'"
_UNSAFE = re.compile(r"[^\w\-. /:]")  # MLflow's allowed metric-name characters; the others become '_'


@dataclass(frozen=True)
class TrackedUnit:
    """What one unit reports: a name, flat parameters, curves (tag -> [(step, value)]), final metrics."""

    name: str
    params: dict[str, str]
    config: dict[str, Any]
    series: dict[str, list[tuple[int, float]]]
    finals: dict[str, float]


def _tag(*parts: object) -> str:
    return "/".join(_UNSAFE.sub("_", str(p)) for p in parts if p != "")


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model": {"dim": 64}}`` -> ``{"model.dim": "64"}`` (lists and None as their YAML text)."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    return flat


def tracked_unit(config: dict[str, Any], encoding: str, seed: int, records: Iterable, curves: Iterable[dict]) -> TrackedUnit:
    """The tracked form of one finished unit (its :class:`~petra.experiments.records.RunRecord` list and curve points)."""
    series: dict[str, list[tuple[int, float]]] = {}
    for point in curves:
        if point["phase"] == "pretrain":
            tag = _tag("pretrain", point["source"], point["kind"])
        else:
            tag = _tag(point["target"], point["phase"], f"k{point['shots']}", point["source"], point["kind"])
        series.setdefault(tag, []).append((int(point["step"]), float(point["value"])))
    finals: dict[str, float] = {}
    for r in records:
        base = ("final", r.target, r.recipe, f"k{r.shots}", r.source)
        finals[_tag(*base, "accuracy")] = r.accuracy
        if not math.isnan(r.gain):
            finals[_tag(*base, "gain")] = r.gain
        for name, value in r.metrics.items():  # the task's others (parsing: UAS, LAS, ...)
            finals[_tag(*base, name)] = value
        finals[_tag("final", "source", r.source, "accuracy")] = r.source_accuracy
    params = {**flatten(config), "encoding": encoding, "seed": str(seed)}
    return TrackedUnit(f"{encoding}-seed{seed}", params, config, series, finals)


class Tracker(Protocol):
    def log(self, unit: TrackedUnit) -> None: ...


class TensorBoardTracker:
    """Event files under ``<results>/tensorboard/<PE>-seed<seed>/`` (``tensorboard --logdir``)."""

    def __init__(self, directory: Path, experiment: str) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer, self.root = SummaryWriter, directory / "tensorboard"

    def log(self, unit: TrackedUnit) -> None:
        with self.writer(str(self.root / unit.name)) as writer:
            writer.add_text("config", "```yaml\n" + yaml.safe_dump(unit.config, sort_keys=False) + "```")
            for tag, points in unit.series.items():
                for step, value in points:
                    writer.add_scalar(tag, value, step)
            for tag, value in unit.finals.items():
                writer.add_scalar(tag, value, 0)


class MlflowTracker:
    """Runs in the experiment named after the config; the store is ``MLFLOW_TRACKING_URI`` when set,
    else a SQLite database ``<results>/mlflow.db`` with artifacts in ``<results>/mlruns``."""

    def __init__(self, directory: Path, experiment: str) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        for noisy in ("mlflow", "alembic"):  # INFO lines on every new database
            logging.getLogger(noisy).setLevel(logging.WARNING)
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        artifacts = None
        if not uri:
            uri = f"sqlite:///{(directory / 'mlflow.db').resolve()}"
            artifacts = (directory / "mlruns").resolve().as_uri()
        self.client, self.metric, self.param = MlflowClient(uri), Metric, Param
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment, artifacts)

    def log(self, unit: TrackedUnit) -> None:
        run = self.client.create_run(self.experiment_id, run_name=unit.name,
                                     tags={"petra.encoding": unit.params["encoding"], "petra.seed": unit.params["seed"]})
        run_id = run.info.run_id
        params = [self.param(k, v[:6000]) for k, v in unit.params.items()]
        for i in range(0, len(params), 100):  # MLflow's batch limit for parameters
            self.client.log_batch(run_id, params=params[i : i + 100])
        stamp = run.info.start_time
        metrics = [self.metric(tag, value, stamp, step) for tag, points in unit.series.items() for step, value in points]
        metrics += [self.metric(tag, value, stamp, 0) for tag, value in unit.finals.items()]
        for i in range(0, len(metrics), 1000):  # and for metrics
            self.client.log_batch(run_id, metrics=metrics[i : i + 1000])
        self.client.log_text(run_id, yaml.safe_dump(unit.config, sort_keys=False), "config.yaml")
        self.client.set_terminated(run_id)


def _wandb_configured() -> bool:
    """An API key in the environment or in ~/.netrc (what `wandb login` writes)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


class WandbTracker:
    """One W&B run per unit in the project named after the config, written under ``<results>/wandb``;
    offline (``wandb sync`` uploads later) unless the user configured W&B (``WANDB_MODE``, a key)."""

    def __init__(self, directory: Path, experiment: str) -> None:
        import wandb

        self.wandb, self.directory, self.project = wandb, directory, experiment
        self.mode = os.environ.get("WANDB_MODE") or ("online" if _wandb_configured() else "offline")

    def log(self, unit: TrackedUnit) -> None:
        run = self.wandb.init(project=self.project, name=unit.name, dir=str(self.directory), config=unit.config,
                              mode=self.mode, reinit="create_new", settings=self.wandb.Settings(silent=True))
        for tag, points in unit.series.items():
            run.define_metric(tag, step_metric=f"{tag}:step")  # each curve on its own step axis
            for step, value in points:
                run.log({tag: value, f"{tag}:step": step})
        for tag, value in unit.finals.items():
            run.summary[tag] = value
        run.finish()


TRACKERS = {"tensorboard": (TensorBoardTracker, "tensorboard"), "mlflow": (MlflowTracker, "mlflow"),
            "wandb": (WandbTracker, "wandb")}


class Trackers:
    """The trackers of ``run.report_to``, opened before any training so a missing package fails first."""

    def __init__(self, names: Iterable[str], directory: Path, experiment: str) -> None:
        self.trackers: list[Tracker] = []
        for name in names:
            cls, package = TRACKERS[name]
            try:
                self.trackers.append(cls(directory, experiment))
            except ImportError as exc:
                raise PetraError(f"run.report_to lists {name!r} but {package} is not installed ({exc.name} missing): "
                                 f"{INSTALL_HINT}") from None

        self.failures: list[str] = []

    def log(self, unit: TrackedUnit) -> None:
        """Log to every tracker; a tracker that fails (a server down) is noted, the run goes on:
        the unit is already in the store."""
        for tracker in self.trackers:
            try:
                tracker.log(unit)
            except Exception as exc:  # noqa: BLE001 - any tracker error; the results are safe
                self.failures.append(f"{type(tracker).__name__} could not log {unit.name}: {exc}")
