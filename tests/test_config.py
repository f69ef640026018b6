import subprocess
import sys
from pathlib import Path

import pytest

from petra.config import load_config, parse_config
from petra.errors import PetraError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_are_valid():
    config = parse_config({})
    assert config.model.architecture == "transformer"
    assert config.data.targets


def test_unknown_key_names_the_field(tmp_path):
    with pytest.raises(PetraError, match=r"'model.dimm'"):
        load_config(write(tmp_path, "model:\n  dimm: 64\n"))


def test_bad_value_names_the_field(tmp_path):
    with pytest.raises(PetraError, match=r"'pretrain.lr'"):
        load_config(write(tmp_path, "pretrain:\n  lr: -1\n"))


def test_bad_word_order_names_the_field(tmp_path):
    with pytest.raises(PetraError, match=r"data.targets.0.word_order"):
        load_config(write(tmp_path, "data:\n  targets:\n    - {name: x, word_order: XYZ}\n"))


def test_unknown_encoding_lists_the_zoo(tmp_path):
    with pytest.raises(PetraError, match=r"unknown positional encoding 'fourier'.*sinusoidal"):
        load_config(write(tmp_path, "encodings: [fourier]\n"))


def test_rotary_with_lstm_is_rejected(tmp_path):
    with pytest.raises(PetraError, match=r"model.architecture 'lstm' takes additive encodings only; encoding 'rope'"):
        load_config(write(tmp_path, "encodings: [rope]\nmodel: {architecture: lstm}\n"))


def test_how_an_encoding_acts_is_asked_of_it_with_its_options(tmp_path):
    """random_ordered is additive on sinusoidal and rotary on RoPE: the LSTM takes only the first,
    and the second is refused when the config is read (exit 2, nothing written), not in every worker."""
    lstm = "encodings: [random_ordered]\nmodel: {architecture: lstm, encoding_options: {random_ordered: {base: %s}}}\n"
    assert load_config(write(tmp_path, lstm % "sinusoidal")).model.architecture == "lstm"
    path = write(tmp_path, lstm % "rope")
    with pytest.raises(PetraError, match=r"encoding 'random_ordered' with options \{'base': 'rope'\} acts on "
                                         r"attention \(rotary\)"):
        load_config(path)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", "from petra.cli import entry; entry()", "run", str(path), "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and not out.exists()
    assert len(result.stderr.strip().splitlines()) == 1 and "invalid config field 'encodings'" in result.stderr


def test_a_config_names_its_experiment_and_each_command_takes_its_own(tmp_path):
    """`experiment:` (or fields only one experiment has) picks the schema; a command handed another
    experiment's file says which command runs it, in one line, before any work."""
    from petra.experiments.bound import BoundConfig
    from petra.experiments.lengthgen import LengthgenConfig
    from petra.experiments.transfer_config import Config

    assert type(load_config(REPO / "configs" / "lengthgen.yaml")) is LengthgenConfig
    assert type(parse_config({"gap": {"draws": 4}})) is BoundConfig  # an older file without `experiment:`
    assert type(parse_config({"seeds": [0]})) is Config
    with pytest.raises(PetraError, match=r"invalid config field 'experiment': unknown experiment 'glue'; one of transfer"):
        parse_config({"experiment": "glue"})
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", "from petra.cli import entry; entry()", "run",
                             str(REPO / "configs" / "lengthgen.yaml"), "-o", str(out)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and not out.exists()
    assert "is a lengthgen config: run it with `petra lengthgen` or `petra sweep`" in result.stderr


def test_bad_encoding_options_are_refused_when_the_config_is_read():
    with pytest.raises(PetraError, match=r"random_ordered base must be one of"):
        parse_config({"encodings": ["random_ordered"], "model": {"encoding_options": {"random_ordered": {"base": "t5_bias"}}}})


def test_heads_must_divide_dim():
    with pytest.raises(PetraError, match=r"'model'.*divisible"):
        parse_config({"model": {"dim": 30, "heads": 4}})


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(PetraError, match=r"c.yaml:\d+: not valid YAML"):
        load_config(write(tmp_path, "model:\n  dim: [1,\n"))


def test_missing_file(tmp_path):
    with pytest.raises(PetraError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
