import json

import pandas as pd
import yaml
from typer.testing import CliRunner

from petra.cli import app


def test_petra_align_quick_writes_results_per_method_and_retrieval(tmp_path):
    out = tmp_path / "align"
    result = CliRunner().invoke(app, ["align", "--quick", "--seed-pairs", "15", "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv")
    rows = set(zip(summary.vectors, summary.method, summary.retrieval))
    for vectors in ("input", "contextual"):
        for method in ("procrustes", "procrustes+refine", "adversarial", "adversarial+refine"):
            assert {(vectors, method, "nn"), (vectors, method, "csls")} <= rows
    payload = json.loads((out / "metrics.json").read_text())
    assert yaml.safe_load((out / "config.yaml").read_text())["align"]["seed_pairs"] == 15
    assert payload["provenance"]["experiment"] == "align" and set(summary.encoding) == {"sinusoidal"}
    assert {r["seed_pairs"] for r in payload["records"] if r["method"].startswith("procrustes")} == {15}
    assert all(0 <= r["p_at_1"] <= r["p_at_5"] <= 1 for r in payload["records"])
    assert payload["wall_seconds"] > 0 and len(payload["training"]) == 2


def test_petra_align_bad_option_is_one_line_naming_the_field(tmp_path):
    import subprocess
    import sys

    # the console entry point, as a user runs it: a user error is one line on stderr and exit code 2
    result = subprocess.run([sys.executable, "-m", "petra", "align", "--quick", "--method", "magic", "-o", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "align.methods" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_align_fields_that_moved_to_the_shared_run_section_are_named_with_their_new_place():
    import pytest

    from petra.experiments.align import AlignConfig
    from petra.config import parse_config
    from petra.errors import PetraError

    for old, new in (("encoding", "encodings"), ("device", "run.device"), ("output_dir", "run.output_dir")):
        with pytest.raises(PetraError, match=rf"invalid config field '{old}': '{old}' is now {new}"):
            parse_config({old: "x"}, "align.yaml", AlignConfig)
    assert parse_config({"encodings": ["rope", "alibi"]}, "align.yaml", AlignConfig).run.output_dir.name == "align"
