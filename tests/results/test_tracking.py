"""run.report_to: a tiny run logged to TensorBoard, MLflow and W&B, read back with each tool's own reader."""

import pytest

import petra
from petra.errors import PetraError
from petra.results import tracking

TINY = {"encodings": ["sinusoidal", "learned"], "seeds": [0], "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
        "data": {"source_train": 100, "test": 40}, "pretrain": {"epochs": 1, "batch_size": 16},
        "finetune": {"shots": [0, 10], "epochs": 2, "batch_size": 8, "curve_points": 2}}


def test_a_run_is_logged_to_mlflow_and_tensorboard(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "r"
    results = petra.run({**TINY, "name": "tracked", "run": {"output_dir": str(out), "workers": 1,
                                                            "report_to": ["tensorboard", "mlflow"]}})
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{out / 'mlflow.db'}")
    found = mlflow.search_runs(experiment_names=["tracked"])
    assert sorted(found["tags.mlflow.runName"]) == ["learned-seed0", "sinusoidal-seed0"]
    row = found[found["params.encoding"] == "learned"].iloc[0]
    assert row["params.seed"] == "0" and row["params.model.dim"] == "16"
    # the final metrics are the run's own numbers
    tuned = results.runs[(results.runs["encoding"] == "learned") & (results.runs["shots"] == 10)].iloc[0]
    key = f"metrics.final/{tuned['target']}/full/k10/{tuned['source']}/accuracy"
    assert row[key] == pytest.approx(tuned["accuracy"])
    history = mlflow.MlflowClient().get_metric_history(row["run_id"], f"{tuned['target']}/full/k10/{tuned['source']}/loss")
    assert len(history) > 1 and [m.step for m in history] == sorted(m.step for m in history)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted(p.name for p in (out / "tensorboard").iterdir())
    assert runs == ["learned-seed0", "sinusoidal-seed0"]
    events = EventAccumulator(str(out / "tensorboard" / "learned-seed0")).Reload()
    tags = events.Tags()["scalars"]
    assert f"pretrain/{tuned['source']}/loss" in tags
    assert events.Scalars(key.removeprefix("metrics."))[0].value == pytest.approx(tuned["accuracy"], abs=1e-6)


def test_a_run_is_logged_to_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc: offline
    out = tmp_path / "r"
    petra.run({**TINY, "encodings": ["rope"], "run": {"output_dir": str(out), "workers": 1, "report_to": ["wandb"]}})
    (run_file,) = (out / "wandb").glob("offline-run-*/run-*.wandb")
    written = run_file.read_bytes()  # the run's records (protobuf; metric names are stored as written)
    assert b"rope-seed0" in written and b"/full/k10/" in written and b"final/source/" in written


def test_a_tracker_that_is_not_installed_is_named_before_any_training(tmp_path, monkeypatch):
    def missing(directory, experiment):
        raise ModuleNotFoundError("No module named 'mlflow'", name="mlflow")

    monkeypatch.setitem(tracking.TRACKERS, "mlflow", (missing, "mlflow"))
    with pytest.raises(PetraError, match=r"run.report_to lists 'mlflow' but mlflow is not installed .*petra\[tracking\]"):
        petra.run({**TINY, "run": {"output_dir": str(tmp_path / "r"), "report_to": ["mlflow"]}})
    assert not (tmp_path / "r" / "store").exists()


def test_report_to_names_only_known_trackers():
    from petra.experiments.transfer_config import RunConfig

    with pytest.raises(ValueError, match="tensorboard"):
        RunConfig(report_to=["comet"])
    with pytest.raises(ValueError, match="twice"):
        RunConfig(report_to=["mlflow", "mlflow"])


def test_flatten_writes_lists_and_none_as_yaml():
    assert tracking.flatten({"a": {"b": [1, 2], "c": None}, "d": "x"}) == {"a.b": "[1, 2]", "a.c": "null", "d": "x"}
