import pytest

from petra.encodings import available, build_encoding, get_spec
from petra.errors import PetraError

KINDS = {
    "sinusoidal": "additive",
    "learned": "additive",
    "random_gaussian": "additive",
    "random_ordered": "additive",  # the class default; instances follow their base
    "rope": "rotary",
    "alibi": "bias",
    "t5_bias": "bias",
    "none": "none",
}


def test_all_encodings_registered_with_description_and_kind():
    specs = {spec.name: spec for spec in available()}
    assert set(KINDS) <= set(specs)
    for name, kind in KINDS.items():
        assert specs[name].description.strip()
        assert specs[name].kind == kind
        assert build_encoding(name, dim=16, num_heads=2, max_len=32).kind == kind


def test_unknown_name_lists_available():
    with pytest.raises(PetraError, match="unknown positional encoding 'wavelet'.*alibi.*t5_bias"):
        get_spec("wavelet")


def test_unknown_option_is_named():
    with pytest.raises(PetraError, match="frobnicate"):
        build_encoding("alibi", dim=16, num_heads=2, max_len=32, options={"frobnicate": 1})
