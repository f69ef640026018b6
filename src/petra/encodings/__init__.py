"""The PE zoo. Importing this package registers every encoding."""

from petra.encodings import (  # noqa: F401  (imported for registration)
    alibi,
    learned,
    none,
    random_gaussian,
    random_ordered,
    rope,
    sinusoidal,
    t5_bias,
)
from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import EncodingSpec, available, build_encoding, get_spec, register

__all__ = ["PositionalEncoding", "EncodingSpec", "available", "build_encoding", "get_spec", "register"]
