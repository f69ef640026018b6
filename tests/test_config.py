from pathlib import Path

import pytest

from petra.config import load_config, parse_config
from petra.errors import PetraError


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
    with pytest.raises(PetraError, match=r"lstm model takes additive encodings only"):
        load_config(write(tmp_path, "encodings: [rope]\nmodel: {architecture: lstm}\n"))


def test_heads_must_divide_dim():
    with pytest.raises(PetraError, match=r"'model'.*divisible"):
        parse_config({"model": {"dim": 30, "heads": 4}})


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(PetraError, match=r"c.yaml:\d+: not valid YAML"):
        load_config(write(tmp_path, "model:\n  dim: [1,\n"))


def test_missing_file(tmp_path):
    with pytest.raises(PetraError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
