"""A unit that fails every retry: `petra run` finishes the others, stores them, names the failed unit
and exits 1; the same command again trains only the failed unit."""

import pytest
from typer.testing import CliRunner

import petra.experiments.transfer as transfer
from petra.cli import app

CONFIG = """
name: failing
encodings: [learned, sinusoidal]
seeds: [0]
model: {dim: 16, heads: 2, ffn_dim: 32, layers: 1}
data: {source: {name: svo}, targets: [{name: sov, word_order: SOV}], source_train: 120, test: 40}
pretrain: {epochs: 1, batch_size: 16}
finetune: {epochs: 1, batch_size: 8, curve_points: 0, shots: [20]}
run: {workers: 1}
"""


def test_a_unit_failing_every_retry_exits_1_and_a_rerun_trains_only_it(tmp_path, monkeypatch):
    config, out = tmp_path / "c.yaml", tmp_path / "out"
    config.write_text(CONFIG)
    real, calls = transfer.run_group, []

    def sinusoidal_fails(config, data, encoding, seeds, *rest):
        calls.append(encoding)
        if encoding == "sinusoidal":
            raise RuntimeError("injected fault")
        return real(config, data, encoding, seeds, *rest)

    monkeypatch.setattr(transfer, "run_group", sinusoidal_fails)  # one worker: units run in this process
    failed = CliRunner().invoke(app, ["run", str(config), "-o", str(out)])
    assert failed.exit_code == 1, failed.output
    assert "sinusoidal seed 0" in failed.output and "injected fault" in failed.output
    assert calls == ["learned", "sinusoidal", "sinusoidal"]  # the failing unit was retried once (the executor's default)
    assert len(list((out / "store" / "records").glob("*.parquet"))) == 1  # the finished unit is stored

    calls.clear()
    monkeypatch.setattr(transfer, "run_group", lambda *args: (calls.append(args[2]), real(*args))[1])
    again = CliRunner().invoke(app, ["run", str(config), "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert calls == ["sinusoidal"] and "1 finished unit(s) reused" in again.output


# Loaded by every Python process of a sweep (the CLI and each Ray worker) through PYTHONPATH: the fault is
# injected where the unit really runs, not only in this process.
FAULT = '''
import os
if os.environ.get("PETRA_FAIL_ENCODING"):
    import petra.experiments.transfer as transfer
    real = transfer.run_group

    def run_group(config, data, encoding, seeds, *rest):
        if encoding == os.environ["PETRA_FAIL_ENCODING"]:
            raise RuntimeError("injected fault")
        return real(config, data, encoding, seeds, *rest)

    transfer.run_group = run_group
'''


def test_on_ray_a_unit_failing_every_retry_exits_1_and_a_rerun_trains_only_it(tmp_path):
    import os
    import subprocess
    import sys

    pytest.importorskip("ray")
    config, out, hook = tmp_path / "c.yaml", tmp_path / "out", tmp_path / "hook"
    config.write_text(CONFIG)
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAULT)
    command = [sys.executable, "-c", "from petra.cli import entry; entry()", "sweep", str(config), "-o", str(out),
               "--executor", "ray", "--workers", "2", "--retries", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}
    failed = subprocess.run(command, env={**env, "PETRA_FAIL_ENCODING": "sinusoidal"}, capture_output=True,
                            text=True, timeout=600)
    assert failed.returncode == 1, failed.stderr + failed.stdout
    assert "sinusoidal seed 0" in failed.stdout and "injected fault" in failed.stdout, failed.stdout
    assert len(list((out / "store" / "records").glob("*.parquet"))) == 1  # the finished unit is stored

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr + again.stdout
    assert "1 finished unit(s) reused" in again.stdout  # only the failed unit trained again
    assert len(list((out / "store" / "records").glob("*.parquet"))) == 2
