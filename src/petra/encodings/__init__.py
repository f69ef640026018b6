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
from petra.encodings.registry import (
    BERT_ENCODING,
    BOUND_DEFAULT,
    DEFAULT_ENCODING,
    KEEP,
    LENGTHGEN_DEFAULT,
    TRANSFER_DEFAULT,
    EncodingSpec,
    available,
    build_encoding,
    check_covers,
    check_fit,
    get_spec,
    has_parameters,
    kind_of,
    register,
)

__all__ = ["PositionalEncoding", "EncodingSpec", "available", "build_encoding", "check_covers", "check_fit", "get_spec", "has_parameters", "kind_of",
           "register", "BERT_ENCODING", "KEEP", "BOUND_DEFAULT", "DEFAULT_ENCODING", "LENGTHGEN_DEFAULT", "TRANSFER_DEFAULT"]
